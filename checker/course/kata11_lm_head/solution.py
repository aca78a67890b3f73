"""Kata 11: the language-model head."""
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_10 import GPT2Model


class MaxGPT2LMHeadModel(Module):
    """GPT2Model followed by a bias-free projection to vocabulary logits."""

    def __init__(self, config: GPT2Config):
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, input_ids: Tensor) -> Tensor:
        hidden_states = self.transformer(input_ids)  # (batch, seq, n_embd)
        return self.lm_head(hidden_states)  # (batch, seq, vocab_size)
