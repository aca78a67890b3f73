"""Kata 16: the SwiGLU feed-forward network.

Llama's MLP has three linear layers: one gates another through SiLU before the third projects
back. Read katas/step_16.md, then run `kata check 16`.
"""

from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Linear, Module  # noqa: F401 - you will need Linear
from max.experimental.tensor import Tensor

from katas.step_13 import LlamaConfig


class LlamaMLP(Module):
    """down_proj(silu(gate_proj(x)) * up_proj(x)): hidden_size -> intermediate_size -> back."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        # TODO: create gate_proj and up_proj (hidden_size -> intermediate_size) and down_proj
        # (intermediate_size -> hidden_size): Linear, no bias. The names matter.

    def forward(self, x: Tensor) -> Tensor:
        # TODO
        return None
