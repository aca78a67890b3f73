"""Kata 6: learned position embeddings.

GPT-2 adds to every token's vector a learned vector for its position 0, 1, ..., seq_len - 1, so
that the model knows the order of the tokens. Read katas/step_06.md, then run `kata check 6`.
"""

from max.dtype import DType  # noqa: F401 - you will need it
from max.experimental.nn import Embedding, Module  # noqa: F401 - you will need Embedding
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2PositionEmbeddings(Module):
    """Looks up one learned vector per position 0..seq_len-1."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        # TODO: create the (n_positions, n_embd) lookup table as `wpe`. The name matters:
        # GPT-2's position embeddings load into it.

    def forward(self, input_ids: Tensor) -> Tensor:
        """(batch, seq) int64 token ids -> (seq, n_embd) position vectors.

        Only the sequence length of input_ids matters, not the token values; the result
        broadcasts against the (batch, seq, n_embd) token embeddings.
        """
        # TODO: build the positions of the sequence on the ids' device and look them up.
        return None
