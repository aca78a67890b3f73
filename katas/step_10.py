"""Kata 10: the GPT-2 transformer stack.

Token and position embeddings, n_layer transformer blocks, and a final layer norm. Read
katas/step_10.md, then run `kata check 10`.
"""

from max.dtype import DType  # noqa: F401 - you will need it
from max.experimental.nn import Embedding, Module, Sequential  # noqa: F401 - you will need them
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_03 import LayerNorm  # noqa: F401 - you will need it
from katas.step_09 import GPT2Block  # noqa: F401 - you will need it


class GPT2Model(Module):
    """Token + position embeddings, n_layer blocks, final layer norm."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        # TODO: create `wte`, `wpe`, `h` (config.n_layer blocks) and `ln_f`. These names
        # matter: GPT-2's transformer.* weights load into them.

    def forward(self, input_ids: Tensor) -> Tensor:
        """(batch, seq) int64 token ids -> (batch, seq, n_embd): the last hidden state."""
        # TODO: embed tokens and positions, run every block, apply the final layer norm.
        return None
