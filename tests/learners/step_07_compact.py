"""Kata 7, correct but written differently: no stage methods, q scaled before the matmul,
q/k/v by slicing, the causal mask built inline."""
import math

from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config


class GPT2MultiHeadAttention(Module):
    def __init__(self, config: GPT2Config):
        self.n_embd = config.n_embd
        self.n_head = config.n_head
        self.c_attn = Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = Linear(config.n_embd, config.n_embd)

    def forward(self, x: Tensor) -> Tensor:
        batch, seq = x.shape[0], x.shape[1]
        e, h = self.n_embd, self.n_head
        d = e // h
        qkv = self.c_attn(x)
        q = qkv[:, :, 0:e].reshape([batch, seq, h, d]).permute([0, 2, 1, 3])
        k = qkv[:, :, e:2 * e].reshape([batch, seq, h, d]).permute([0, 2, 1, 3])
        v = qkv[:, :, 2 * e:3 * e].reshape([batch, seq, h, d]).permute([0, 2, 1, 3])
        q = q * (1.0 / math.sqrt(d))
        scores = q @ k.permute([0, 1, 3, 2])
        blocked = Tensor(float("-inf"), dtype=scores.dtype, device=scores.device)
        blocked = F.broadcast_to(blocked, shape=(seq, seq))
        scores = scores + F.band_part(blocked, num_lower=None, num_upper=0, exclude=True)
        out = F.softmax(scores) @ v  # (batch, heads, seq, head_dim)
        out = out.permute([0, 2, 1, 3]).reshape([batch, seq, e])
        return self.c_proj(out)
