"""Kata 21, correct but written differently: truly sparse, as Hugging Face's loop. The router
takes the top-k of the logits and a softmax over the k chosen logits only (Mistral's spelling:
the same weights); the indices go to numpy, and each expert that was hit runs on its own tokens
only, its weighted output added back with scatter_nd_add."""
from dataclasses import dataclass

import numpy as np
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
        self.k = config.num_experts_per_tok
        self.weight = Tensor.zeros([config.num_local_experts, config.hidden_size])

    def forward(self, hidden_states):
        logits = F.matmul(hidden_states, self.weight.transpose(0, 1))
        chosen, index = F.top_k(logits, self.k, axis=-1)
        return logits, F.softmax(chosen), index


class MixtralExperts(Module):
    def __init__(self, config):
        super().__init__()
        self.inner = config.intermediate_size
        self.gate_up_proj = Tensor.zeros([config.num_local_experts, 2 * config.intermediate_size,
                                          config.hidden_size])
        self.down_proj = Tensor.zeros([config.num_local_experts, config.hidden_size,
                                       config.intermediate_size])

    def forward(self, hidden_states, top_k_index, top_k_weights):
        index = top_k_index.to_numpy()
        out = F.zeros(hidden_states.shape, device=hidden_states.device)
        for expert in np.unique(index):
            rows, slots = np.nonzero(index == expert)  # the tokens routed to this expert
            rows_t = Tensor(rows.astype(np.int64), device=hidden_states.device)
            x = F.gather(hidden_states, rows_t, axis=0)
            gate_up = x @ self.gate_up_proj[int(expert)].transpose(0, 1)
            gate = gate_up[:, :self.inner]
            up = gate_up[:, self.inner:]
            y = (F.silu(gate) * up) @ self.down_proj[int(expert)].transpose(0, 1)
            pick = np.stack([rows, slots], axis=-1).astype(np.int64)
            w = F.gather_nd(top_k_weights, Tensor(pick, device=hidden_states.device))
            out = F.scatter_nd_add(out, y * w.reshape([len(rows), 1]),
                                   rows_t.reshape([len(rows), 1]))
        return out


class MixtralSparseMoeBlock(Module):
    def __init__(self, config):
        super().__init__()
        self.gate = MixtralTopKRouter(config)
        self.experts = MixtralExperts(config)

    def forward(self, hidden_states):
        shape = [int(d) for d in hidden_states.shape]
        flat = hidden_states.reshape([shape[0] * shape[1], shape[2]])
        _, weights, index = self.gate(flat)
        return self.experts(flat, index.cast(DType.int64), weights).reshape(shape)
