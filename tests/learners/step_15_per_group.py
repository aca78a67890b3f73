"""Kata 15, correct but written differently: repeat_kv by stacking copies on a new axis; the
attention itself never repeats k and v: each kv head attends for its own group of query heads,
the groups concatenated back. q is scaled before the matmul and the projections are split with
permute."""
import math

from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary, rotary_tables


def repeat_kv(x, n_rep):
    batch, n_kv, seq, head_dim = x.shape
    stacked = F.stack([x] * n_rep, axis=2)  # (batch, n_kv, n_rep, seq, head_dim)
    return stacked.reshape([batch, n_kv * n_rep, seq, head_dim])


class LlamaAttention(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        d = config.head_dim
        self.q_proj = Linear(config.hidden_size, config.num_attention_heads * d, bias=False)
        self.k_proj = Linear(config.hidden_size, config.num_key_value_heads * d, bias=False)
        self.v_proj = Linear(config.hidden_size, config.num_key_value_heads * d, bias=False)
        self.o_proj = Linear(config.num_attention_heads * d, config.hidden_size, bias=False)

    def forward(self, hidden_states):
        c = self.config
        b, s, _ = hidden_states.shape
        d, h, kv = c.head_dim, c.num_attention_heads, c.num_key_value_heads
        group = h // kv
        q = self.q_proj(hidden_states).reshape([b, s, h, d]).permute([0, 2, 1, 3])
        k = self.k_proj(hidden_states).reshape([b, s, kv, d]).permute([0, 2, 1, 3])
        v = self.v_proj(hidden_states).reshape([b, s, kv, d]).permute([0, 2, 1, 3])
        cos, sin = rotary_tables(d, s, theta=c.rope_theta)
        q = apply_rotary(q, cos, sin) * (1.0 / math.sqrt(d))
        k = apply_rotary(k, cos, sin)
        mask = causal_mask(s, 0, dtype=q.dtype, device=q.device)
        outputs = []
        for j in range(kv):
            q_j = q[:, j * group:(j + 1) * group]  # (b, group, s, d): the heads kv head j serves
            k_j = k[:, j:j + 1]  # (b, 1, s, d), broadcast over the group
            v_j = v[:, j:j + 1]
            weights = F.softmax(q_j @ k_j.permute([0, 1, 3, 2]) + mask)
            outputs.append(weights @ v_j)
        out = F.concat(outputs, axis=1)  # (b, h, s, d), heads back in order
        return self.o_proj(out.permute([0, 2, 1, 3]).reshape([b, s, h * d]))
