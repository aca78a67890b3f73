"""Kata 15, correct but written differently: repeat_kv with unsqueeze and F.tile on the new axis
(tile on the head axis itself would give the wrong order), q, k, v cut from the projections'
outputs with F.split after one concatenated matmul, and a hand-built mask."""
import math

from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_14 import apply_rotary, rotary_tables


def repeat_kv(x, n_rep):
    b, n_kv, s, d = x.shape
    x = F.unsqueeze(x, 2)  # (b, n_kv, 1, s, d)
    x = F.tile(x, [1, 1, n_rep, 1, 1])  # (b, n_kv, n_rep, s, d)
    return x.reshape([b, n_kv * n_rep, s, d])


class LlamaAttention(Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.num_attention_heads
        self.n_kv = config.num_key_value_heads
        self.head_dim = config.head_dim
        self.theta = config.rope_theta
        q_size, kv_size = self.n_head * self.head_dim, self.n_kv * self.head_dim
        self.q_proj = Linear(config.hidden_size, q_size, bias=False)
        self.k_proj = Linear(config.hidden_size, kv_size, bias=False)
        self.v_proj = Linear(config.hidden_size, kv_size, bias=False)
        self.o_proj = Linear(q_size, config.hidden_size, bias=False)

    def forward(self, hidden_states):
        batch, seq = hidden_states.shape[0], hidden_states.shape[1]
        q_size, kv_size = self.n_head * self.head_dim, self.n_kv * self.head_dim
        # one matmul for all three: the weights side by side, the output cut in three
        w = F.concat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight], axis=0)
        q, k, v = F.split(hidden_states @ w.T, [q_size, kv_size, kv_size], axis=-1)

        def heads(t, n):
            return t.reshape([batch, seq, n, self.head_dim]).transpose(1, 2)

        q, k, v = heads(q, self.n_head), heads(k, self.n_kv), heads(v, self.n_kv)
        cos, sin = rotary_tables(self.head_dim, seq, theta=self.theta)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        k = repeat_kv(k, self.n_head // self.n_kv)
        v = repeat_kv(v, self.n_head // self.n_kv)
        scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim)
        blocked = F.broadcast_to(
            Tensor(float("-inf"), dtype=scores.dtype, device=scores.device), shape=(seq, seq))
        scores = scores + F.band_part(blocked, num_lower=None, num_upper=0, exclude=True)
        out = (F.softmax(scores) @ v).transpose(1, 2).reshape([batch, seq, q_size])
        return self.o_proj(out)
