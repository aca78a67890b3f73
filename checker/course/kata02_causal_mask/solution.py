"""Kata 2 reference solution: the causal mask."""

from max.driver import Device
from max.dtype import DType
from max.experimental import functional as F
from max.experimental.tensor import Tensor


def causal_mask(sequence_length: int, num_tokens: int, *, dtype: DType, device: Device) -> Tensor:
    """(sequence_length, sequence_length + num_tokens): 0 where query i may see key j, else -inf.

    num_tokens earlier tokens (already in the cache) are visible to every query, so query i sees
    keys 0 .. i + num_tokens.
    """
    total = sequence_length + num_tokens
    # Query i is the token at position num_tokens + i; key j the token at position j. Comparing
    # positions (rather than F.band_part, whose band must be a Python int) also works when the
    # lengths are only known when the graph runs (Part 3's compiled KV cache).
    query = F.range(num_tokens, total, 1, out_dim=sequence_length, dtype=DType.int64, device=device)
    key = F.range(0, total, 1, out_dim=total, dtype=DType.int64, device=device)
    future = key.reshape([1, total]) > query.reshape([sequence_length, 1])
    blocked = Tensor(float("-inf"), dtype=dtype, device=device)
    return F.where(future, blocked, Tensor(0.0, dtype=dtype, device=device))
