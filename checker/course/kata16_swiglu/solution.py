"""Kata 16: the SwiGLU feed-forward network."""
from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_13 import LlamaConfig


class LlamaMLP(Module):
    """down_proj(silu(gate_proj(x)) * up_proj(x)): hidden -> intermediate -> hidden."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        hidden, inner = config.hidden_size, config.intermediate_size
        self.gate_proj = Linear(hidden, inner, bias=False)
        self.up_proj = Linear(hidden, inner, bias=False)
        self.down_proj = Linear(inner, hidden, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        # The gate decides, per feature, how much of the up projection passes: silu(g) is near 0
        # for negative g and near g for positive g, so the product is a smooth, learned switch.
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
