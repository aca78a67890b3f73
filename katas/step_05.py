"""Kata 5: token embeddings.

The model's first layer turns every token id into a vector of n_embd learned numbers by looking
up one row of a table. Read katas/step_05.md, then run `kata check 5`.
"""

from max.experimental.nn import Embedding, Module  # noqa: F401 - you will need Embedding
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2Embeddings(Module):
    """Looks up one learned vector of size ``n_embd`` per token id."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        # TODO: create the (vocab_size, n_embd) lookup table as `wte`. The name matters:
        # GPT-2's token embeddings load into it.

    def forward(self, input_ids: Tensor) -> Tensor:
        """(batch, seq) int64 token ids -> (batch, seq, n_embd)."""
        # TODO: look the ids up in the table.
        return None
