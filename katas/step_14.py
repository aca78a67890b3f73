"""Kata 14: rotary position embeddings (RoPE).

Llama has no table of position vectors. Instead it turns pairs of numbers in every query and
key by an angle that grows with the token's position, so that attention scores depend on how
far apart two tokens are. Read katas/step_14.md, then run `kata check 14`.
"""

from max.dtype import DType  # noqa: F401 - you will need it
from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.tensor import Tensor


def rotary_tables(head_dim: int, seq_len: int, *, theta: float = 10000.0,
                  start: int = 0) -> tuple[Tensor, Tensor]:
    """Return (cos, sin), each a float32 Tensor of shape (seq_len, head_dim).

    Row p is for position start + p. Column i and column i + head_dim/2 hold the same angle,
    position * inv_freq[i], with inv_freq[i] = theta ** (-2i / head_dim) for
    i = 0 .. head_dim/2 - 1 (Hugging Face's layout: the angles written twice, side by side).
    """
    # TODO: the frequencies, the positions, their outer product, doubled; then cos and sin.
    return None


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate x (batch, heads, seq, head_dim) by the tables (seq, head_dim).

    x * cos + rotate_half(x) * sin, where rotate_half([x1, x2]) = [-x2, x1] on the last axis
    (x1 the first half of head_dim, x2 the second).
    """
    # TODO
    return None
