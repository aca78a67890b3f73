"""Kata 21, correct but written differently: the softmax written out (exp over the row's maximum),
each token's weight for expert e built from comparisons with the chosen indices (no scatter), and
a Python loop over all experts, each a dense SwiGLU on every token with its gate and up rows
sliced out of gate_up_proj; the forward flattens with reshape([-1, hidden])."""
from dataclasses import dataclass

from max.dtype import DType
from max.experimental import functional as F
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


@dataclass
class MixtralConfig:
    hidden_size: int = 4096
    intermediate_size: int = 14336
    num_local_experts: int = 8
    num_experts_per_tok: int = 2


class MixtralTopKRouter(Module):
    def __init__(self, config):
        super().__init__()
        self.top_k = config.num_experts_per_tok
        self.weight = Tensor.zeros([config.num_local_experts, config.hidden_size])

    def forward(self, hidden_states):
        logits = hidden_states @ self.weight.transpose(0, 1)
        e = F.exp(logits - F.max(logits, axis=-1))
        probs = e / F.sum(e, axis=-1)
        weights, index = F.top_k(probs, self.top_k, axis=-1)
        return logits, weights / F.sum(weights, axis=-1), index


class MixtralExperts(Module):
    def __init__(self, config):
        super().__init__()
        self.n = config.num_local_experts
        self.inner = config.intermediate_size
        self.gate_up_proj = Tensor.zeros([self.n, 2 * self.inner, config.hidden_size])
        self.down_proj = Tensor.zeros([self.n, config.hidden_size, self.inner])

    def forward(self, hidden_states, top_k_index, top_k_weights):
        out = None
        for e in range(self.n):
            # this token's weight for expert e: the weight of the slot that chose e, else 0
            chosen = F.cast(top_k_index == e, DType.float32)
            w = F.sum(chosen * top_k_weights, axis=-1)  # (tokens, 1)
            gate = hidden_states @ self.gate_up_proj[e, :self.inner, :].transpose(0, 1)
            up = hidden_states @ self.gate_up_proj[e, self.inner:, :].transpose(0, 1)
            y = (gate * F.sigmoid(gate) * up) @ self.down_proj[e].transpose(0, 1)
            out = w * y if out is None else out + w * y
        return out


class MixtralSparseMoeBlock(Module):
    def __init__(self, config):
        super().__init__()
        self.gate = MixtralTopKRouter(config)
        self.experts = MixtralExperts(config)

    def forward(self, hidden_states):
        shape = hidden_states.shape
        tokens = hidden_states.reshape([-1, int(shape[-1])])
        _, weights, index = self.gate(tokens)
        return self.experts(tokens, index, weights).reshape(shape)
