"""Kata 4: GPT-2 feed-forward network (MLP)."""
from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2MLP(Module):
    """Expand to ``intermediate_size``, GELU (tanh approximation), project back."""

    def __init__(self, intermediate_size: int, config: GPT2Config):
        embed_dim = config.n_embd
        self.c_fc = Linear(embed_dim, intermediate_size)
        self.c_proj = Linear(intermediate_size, embed_dim)

    def forward(self, hidden_states: Tensor) -> Tensor:
        hidden_states = self.c_fc(hidden_states)
        hidden_states = F.gelu(hidden_states, approximate="tanh")
        return self.c_proj(hidden_states)
