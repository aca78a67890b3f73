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
    blocked = Tensor(float("-inf"), dtype=dtype, device=device)
    blocked = F.broadcast_to(blocked, shape=(sequence_length, sequence_length + num_tokens))
    # keep only the part strictly above diagonal num_tokens: everything else becomes 0
    return F.band_part(blocked, num_lower=None, num_upper=num_tokens, exclude=True)
