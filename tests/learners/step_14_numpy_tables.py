"""Kata 14, correct but written differently: the cos/sin tables computed in numpy (float64, then
float32) and handed to MAX; the rotation written out per half as a 2-D rotation."""
import numpy as np

from max.driver import CPU
from max.experimental import functional as F
from max.experimental.tensor import Tensor


def rotary_tables(head_dim, seq_len, *, theta=10000.0, start=0):
    seq_len = int(seq_len)
    inv_freq = theta ** -(np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.arange(start, start + seq_len, dtype=np.float64)[:, None] * inv_freq[None, :]
    angles = np.concatenate([angles, angles], axis=1).astype(np.float32)
    cos = Tensor.from_dlpack(np.ascontiguousarray(np.cos(angles))).to(CPU())
    sin = Tensor.from_dlpack(np.ascontiguousarray(np.sin(angles))).to(CPU())
    return cos, sin


def apply_rotary(x, cos, sin):
    # (a, b) -> (a cos - b sin, b cos + a sin) for a in the first half, b in the second
    a, b = F.split(x, [int(x.shape[-1]) // 2, int(x.shape[-1]) // 2], axis=-1)
    c, _ = F.chunk(cos, 2, axis=-1)
    s, _ = F.chunk(sin, 2, axis=-1)
    return F.concat([a * c - b * s, b * c + a * s], axis=-1)
