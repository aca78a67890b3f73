"""Kata 21, correct but written differently: the router is a plain Linear named gate (same
parameter name), the experts' weights are gathered per token and slot (F.gather on the expert
axis) and applied with one batched matmul; no routing matrix, no loop."""
from dataclasses import dataclass

from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor


@dataclass
class MixtralConfig:
    hidden_size: int = 4096
    intermediate_size: int = 14336
    num_local_experts: int = 8
    num_experts_per_tok: int = 2


class MixtralExperts(Module):
    def __init__(self, config):
        super().__init__()
        e, h, i = config.num_local_experts, config.hidden_size, config.intermediate_size
        self.gate_up_proj = Tensor.zeros([e, 2 * i, h])
        self.down_proj = Tensor.zeros([e, h, i])


class MixtralSparseMoeBlock(Module):
    def __init__(self, config):
        super().__init__()
        self.k = config.num_experts_per_tok
        self.gate = Linear(config.hidden_size, config.num_local_experts, bias=False)
        self.experts = MixtralExperts(config)

    def forward(self, hidden_states):
        b, s, h = (int(d) for d in hidden_states.shape)
        t = b * s
        x = hidden_states.reshape([t, h])
        probs = F.softmax(self.gate(x))
        w, idx = F.top_k(probs, self.k, axis=-1)                       # (t, k)
        w = w / F.sum(w, axis=-1)
        flat_idx = idx.reshape([t * self.k])
        gate_up = F.gather(self.experts.gate_up_proj, flat_idx, axis=0)   # (t*k, 2i, h)
        down = F.gather(self.experts.down_proj, flat_idx, axis=0)         # (t*k, h, i)
        xk = F.broadcast_to(x.reshape([t, 1, h]), [t, self.k, h]).reshape([t * self.k, h, 1])
        g_u = (gate_up @ xk).reshape([t * self.k, 2, -1])                 # (t*k, 2, i)
        hidden = F.silu(g_u[:, 0, :]) * g_u[:, 1, :]                     # (t*k, i)
        y = (down @ hidden.reshape([t * self.k, -1, 1])).reshape([t, self.k, h])
        return F.sum(y * w.reshape([t, self.k, 1]), axis=1).reshape([b, s, h])
