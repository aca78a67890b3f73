"""Kata 6: learned position embeddings."""
from max.dtype import DType
from max.experimental.nn import Embedding, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2PositionEmbeddings(Module):
    """Looks up one learned vector per position 0..seq_len-1."""

    def __init__(self, config: GPT2Config):
        self.wpe = Embedding(config.n_positions, dim=config.n_embd)

    def forward(self, input_ids: Tensor) -> Tensor:
        # Only the sequence length of input_ids matters, not the token values.
        seq_length = input_ids.shape[-1]
        positions = Tensor.arange(
            seq_length, dtype=DType.int64, device=input_ids.device
        )
        # (seq, n_embd): broadcasts against (batch, seq, n_embd).
        return self.wpe(positions)
