"""Kata 16, correct but written differently: the layers' weights used directly (x @ W.T) and
SiLU as g / (1 + exp(-g))."""
from max.experimental import functional as F
from max.experimental.nn import Linear, Module

from katas.step_13 import LlamaConfig


class LlamaMLP(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        d, f = config.hidden_size, config.intermediate_size
        self.gate_proj = Linear(d, f, bias=False)
        self.up_proj = Linear(d, f, bias=False)
        self.down_proj = Linear(f, d, bias=False)

    def forward(self, x):
        g = x @ self.gate_proj.weight.T
        u = x @ self.up_proj.weight.T
        swish = g / (1.0 + F.exp(-g))
        return (swish * u) @ self.down_proj.weight.T
