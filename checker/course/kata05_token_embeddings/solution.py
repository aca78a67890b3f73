"""Kata 5: token embeddings."""
from max.experimental.nn import Embedding, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2Embeddings(Module):
    """Looks up one learned vector of size ``n_embd`` per token id."""

    def __init__(self, config: GPT2Config):
        self.wte = Embedding(config.vocab_size, dim=config.n_embd)

    def forward(self, input_ids: Tensor) -> Tensor:
        # (batch, seq) int64 -> (batch, seq, n_embd)
        return self.wte(input_ids)
