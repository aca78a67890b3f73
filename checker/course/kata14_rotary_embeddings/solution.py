"""Kata 14: rotary position embeddings (RoPE)."""
from max.dtype import DType
from max.experimental import functional as F
from max.experimental.tensor import Tensor


def rotary_tables(head_dim: int, seq_len: int, *, theta: float = 10000.0,
                  start: int = 0) -> tuple[Tensor, Tensor]:
    """cos and sin, each (seq_len, head_dim) float32, for positions start .. start+seq_len-1.

    Hugging Face's half-split layout: dimension i and dimension i + head_dim/2 form a pair that
    turns by the angle position * inv_freq[i], so the angles are written twice: [angles, angles].
    """
    # One frequency per pair: theta^(-2i/head_dim), from 1 (fast) down to about 1/theta (slow).
    exponents = Tensor.arange(0, head_dim, 2, dtype=DType.float32) / head_dim
    inv_freq = 1.0 / (theta ** exponents)  # (head_dim/2,)
    # start .. start + seq_len - 1 (F.range also takes lengths only known when a compiled graph runs)
    positions = F.range(start, start + seq_len, 1, out_dim=seq_len, dtype=DType.float32,
                        device=exponents.device)  # (seq_len,)
    angles = F.outer(positions, inv_freq)  # (seq_len, head_dim/2)
    angles = F.concat([angles, angles], axis=-1)  # (seq_len, head_dim)
    return F.cos(angles), F.sin(angles)


def rotate_half(x: Tensor) -> Tensor:
    """[x1, x2] -> [-x2, x1] on the last axis: each pair (x1[i], x2[i]) turned by 90 degrees."""
    x1, x2 = F.chunk(x, 2, axis=-1)
    return F.concat([-x2, x1], axis=-1)


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotates every pair of x (batch, heads, seq, head_dim) by its position's angle.

    cos and sin (seq, head_dim) broadcast over batch and heads.
    """
    return x * cos + rotate_half(x) * sin
