"""Wrong: has a bias parameter but never adds it."""

from max.experimental import functional as F
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


class LayerNorm(Module):
    def __init__(self, dim: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = Tensor.ones([dim])
        self.bias = Tensor.zeros([dim])

    def forward(self, x: Tensor) -> Tensor:
        centered = x - x.mean(axis=-1)
        variance = (centered * centered).mean(axis=-1)
        return centered * F.rsqrt(variance + self.eps) * self.weight
