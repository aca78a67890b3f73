"""Kata 10: the GPT-2 transformer stack."""
from max.dtype import DType
from max.experimental.nn import Embedding, Module, Sequential
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_03 import LayerNorm
from katas.step_09 import GPT2Block


class GPT2Model(Module):
    """Token + position embeddings, n_layer blocks, final layer norm."""

    def __init__(self, config: GPT2Config):
        self.wte = Embedding(config.vocab_size, dim=config.n_embd)
        self.wpe = Embedding(config.n_positions, dim=config.n_embd)
        self.h = Sequential(*(GPT2Block(config) for _ in range(config.n_layer)))
        self.ln_f = LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(self, input_ids: Tensor) -> Tensor:
        seq_length = input_ids.shape[-1]
        tok_embeds = self.wte(input_ids)  # (batch, seq, n_embd)
        positions = Tensor.arange(
            seq_length, dtype=DType.int64, device=input_ids.device
        )
        pos_embeds = self.wpe(positions)  # (seq, n_embd)
        hidden_states = tok_embeds + pos_embeds
        hidden_states = self.h(hidden_states)
        return self.ln_f(hidden_states)
