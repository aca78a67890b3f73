"""Kata 4: the feed-forward network (MLP).

Each GPT-2 block sends every token's vector through two linear layers with a GELU between
them: n_embd -> intermediate_size -> n_embd. Read katas/step_04.md, then run `kata check 4`.
"""

from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Linear, Module  # noqa: F401 - you will need Linear
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2MLP(Module):
    """Expand to ``intermediate_size``, GELU (tanh approximation), project back."""

    def __init__(self, intermediate_size: int, config: GPT2Config):
        super().__init__()
        # TODO: create `c_fc` (n_embd -> intermediate_size) and `c_proj`
        # (intermediate_size -> n_embd). These names matter: GPT-2's weights load into them.

    def forward(self, hidden_states: Tensor) -> Tensor:
        """(batch, seq, n_embd) -> (batch, seq, n_embd)."""
        # TODO: c_fc, then GPT-2's GELU, then c_proj.
        return None
