"""Kata 4 mistake: ReLU between the two linears instead of GELU."""
from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2MLP(Module):
    def __init__(self, intermediate_size: int, config: GPT2Config):
        self.c_fc = Linear(config.n_embd, intermediate_size)
        self.c_proj = Linear(intermediate_size, config.n_embd)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.c_proj(F.relu(self.c_fc(hidden_states)))
