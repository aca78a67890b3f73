"""Kata 8: pre-norm residual connections.

Each GPT-2 sublayer reads a layer-normalized copy of its input and adds its output back onto the
un-normalized input: x + sublayer(ln(x)). Read katas/step_08.md, then run `kata check 8`.
"""

from max.experimental.nn import Module
from max.experimental.tensor import Tensor

from katas.step_03 import LayerNorm  # noqa: F401 - you will need it


def apply_residual_connection(x: Tensor, sublayer_output: Tensor) -> Tensor:
    """The skip connection: two tensors of the same shape, e.g. (batch, seq, n_embd) -> same."""
    # TODO
    return None


class ResidualBlock(Module):
    """x + sublayer(ln(x)): GPT-2's pre-norm residual pattern."""

    def __init__(self, dim: int, sublayer: Module, eps: float = 1e-5):
        super().__init__()
        self.sublayer = sublayer
        # TODO: create `ln`, a layer norm over `dim` numbers with epsilon `eps`. The name
        # matters: GPT-2's ln_1 weights load into it.

    def forward(self, x: Tensor) -> Tensor:
        """(batch, seq, dim) -> (batch, seq, dim)."""
        # TODO: normalize, run the sublayer, add the residual.
        return None
