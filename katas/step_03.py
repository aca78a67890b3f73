"""Kata 3: layer normalization.

Every GPT-2 block normalizes each token's vector to mean 0 and variance 1, then scales and
shifts it with learned parameters. Read katas/step_03.md, then run `kata check 3`.
"""

from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


class LayerNorm(Module):
    def __init__(self, dim: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        # TODO: create the learned scale `weight` (starts at ones) and shift `bias` (starts at
        # zeros), each of shape [dim]. These names matter: GPT-2's weights load into them.

    def forward(self, x: Tensor) -> Tensor:
        # TODO: normalize x over its last axis, then scale by weight and shift by bias.
        return None
