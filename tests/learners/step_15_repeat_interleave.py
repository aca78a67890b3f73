"""Kata 15, correct but written differently (and slow in eager MAX): repeat_kv with MAX's
F.repeat_interleave, which the eager interpreter does not run: each new input shape compiles."""
import math

from max.experimental import functional as F
from max.experimental.nn import Linear, Module

from katas.step_02 import causal_mask
from katas.step_14 import apply_rotary, rotary_tables


def repeat_kv(x, n_rep):
    if n_rep == 1:
        return x
    return F.repeat_interleave(x, n_rep, axis=1)


class LlamaAttention(Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        h, kv, d = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        self.q_proj = Linear(config.hidden_size, h * d, bias=False)
        self.k_proj = Linear(config.hidden_size, kv * d, bias=False)
        self.v_proj = Linear(config.hidden_size, kv * d, bias=False)
        self.o_proj = Linear(h * d, config.hidden_size, bias=False)

    def forward(self, hidden_states):
        c = self.config
        b, s = hidden_states.shape[0], hidden_states.shape[1]
        h, kv, d = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        q = self.q_proj(hidden_states).reshape([b, s, h, d]).transpose(1, 2)
        k = self.k_proj(hidden_states).reshape([b, s, kv, d]).transpose(1, 2)
        v = self.v_proj(hidden_states).reshape([b, s, kv, d]).transpose(1, 2)
        cos, sin = rotary_tables(d, s, theta=c.rope_theta)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        k, v = repeat_kv(k, h // kv), repeat_kv(v, h // kv)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        scores = scores + causal_mask(s, 0, dtype=scores.dtype, device=scores.device)
        out = F.softmax(scores) @ v
        return self.o_proj(out.transpose(1, 2).reshape([b, s, h * d]))
