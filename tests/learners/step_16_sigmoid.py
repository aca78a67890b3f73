"""Kata 16, correct but written differently: SiLU written as x * sigmoid(x), intermediate values
named."""
from max.experimental import functional as F
from max.experimental.nn import Linear, Module


class LlamaMLP(Module):
    def __init__(self, config):
        super().__init__()
        self.gate_proj = Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        gate = self.gate_proj(x)
        up = self.up_proj(x)
        hidden = gate * F.sigmoid(gate) * up
        return self.down_proj(hidden)
