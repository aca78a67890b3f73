"""Kata 8: pre-norm residual connections."""
from max.experimental.nn import Module
from max.experimental.tensor import Tensor

from katas.step_03 import LayerNorm


def apply_residual_connection(x: Tensor, sublayer_output: Tensor) -> Tensor:
    """The skip connection: add the sublayer's output back onto its input."""
    return x + sublayer_output


class ResidualBlock(Module):
    """x + sublayer(ln(x)): GPT-2's pre-norm residual pattern."""

    def __init__(self, dim: int, sublayer: Module, eps: float = 1e-5):
        self.ln = LayerNorm(dim, eps=eps)
        self.sublayer = sublayer

    def forward(self, x: Tensor) -> Tensor:
        return apply_residual_connection(x, self.sublayer(self.ln(x)))
