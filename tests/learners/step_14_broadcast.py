"""Kata 14, correct but written differently: frequencies through exp and log, the angle table by
broadcasting a column against a row (no F.outer), doubled with F.tile, rotate_half by slicing."""
import math

from max.dtype import DType
from max.experimental import functional as F
from max.experimental.tensor import Tensor


def rotary_tables(head_dim, seq_len, *, theta=10000.0, start=0):
    half = head_dim // 2
    i = Tensor.arange(half, dtype=DType.float32)
    inv_freq = F.exp(i * (-2.0 * math.log(theta) / head_dim))  # theta ** (-2i / head_dim)
    pos = Tensor.arange(start, start + seq_len, dtype=DType.float32)
    angles = pos.reshape([seq_len, 1]) * inv_freq.reshape([1, half])  # (seq, half)
    angles = F.tile(angles, [1, 2])  # (seq, head_dim): [angles, angles]
    return F.cos(angles), F.sin(angles)


def apply_rotary(x, cos, sin):
    half = int(x.shape[-1]) // 2
    rotated = F.concat([-x[:, :, :, half:], x[:, :, :, :half]], axis=-1)
    return x * cos + rotated * sin
