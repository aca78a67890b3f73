"""Kata 9: the transformer block.

Attention, then the MLP, each wrapped in a pre-norm residual connection. Read
katas/step_09.md, then run `kata check 9`.
"""

from max.experimental.nn import Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_03 import LayerNorm  # noqa: F401 - you will need it
from katas.step_04 import GPT2MLP  # noqa: F401 - you will need it
from katas.step_07 import GPT2MultiHeadAttention  # noqa: F401 - you will need it
from katas.step_08 import apply_residual_connection  # noqa: F401 - you will need it


class GPT2Block(Module):
    """ln_1 -> attn -> residual, then ln_2 -> mlp -> residual."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        # TODO: create `ln_1`, `attn`, `ln_2` and `mlp`. These names matter: GPT-2's block
        # weights load into them. The MLP is n_inner wide, or 4 * n_embd when n_inner is None.

    def forward(self, hidden_states: Tensor) -> Tensor:
        """(batch, seq, n_embd) -> (batch, seq, n_embd)."""
        # TODO: the attention residual, then the MLP residual on its result.
        return None
