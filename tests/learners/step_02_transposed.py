"""Wrong: the blocked part is below the diagonal (query and key swapped)."""

import numpy as np
from max.driver import Device
from max.dtype import DType
from max.experimental.tensor import Tensor


def causal_mask(sequence_length: int, num_tokens: int, *, dtype: DType, device: Device) -> Tensor:
    total = sequence_length + num_tokens
    query = np.arange(sequence_length)[:, None]
    key = np.arange(total)[None, :]
    mask = np.where(key < query + num_tokens, -np.inf, 0.0).astype(np.float32)
    return Tensor.from_dlpack(np.ascontiguousarray(mask)).to(device)
