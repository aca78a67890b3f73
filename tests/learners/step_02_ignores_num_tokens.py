"""Wrong: a square mask that forgets the num_tokens earlier keys."""

from max.driver import Device
from max.dtype import DType
from max.experimental import functional as F
from max.experimental.tensor import Tensor


def causal_mask(sequence_length: int, num_tokens: int, *, dtype: DType, device: Device) -> Tensor:
    blocked = Tensor(float("-inf"), dtype=dtype, device=device)
    blocked = F.broadcast_to(blocked, shape=(sequence_length, sequence_length))
    return F.band_part(blocked, num_lower=None, num_upper=0, exclude=True)
