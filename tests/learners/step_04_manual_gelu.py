"""Kata 4, correct but written differently: tanh-GELU by hand, linears as explicit matmuls."""
import math

from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2MLP(Module):
    def __init__(self, intermediate_size: int, config: GPT2Config):
        self.c_fc = Linear(config.n_embd, intermediate_size)
        self.c_proj = Linear(intermediate_size, config.n_embd)

    def forward(self, hidden_states: Tensor) -> Tensor:
        x = hidden_states @ self.c_fc.weight.T + self.c_fc.bias
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))
        x = 0.5 * x * (1.0 + F.tanh(inner))
        return x @ self.c_proj.weight.T + self.c_proj.bias
