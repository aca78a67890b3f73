"""A correct mask built differently: in numpy, with -1e9 for "blocked", then handed to MAX."""

import numpy as np
from max.driver import Device
from max.dtype import DType
from max.experimental.tensor import Tensor


def causal_mask(sequence_length: int, num_tokens: int, *, dtype: DType, device: Device) -> Tensor:
    query = np.arange(sequence_length)[:, None]
    key = np.arange(sequence_length + num_tokens)[None, :]
    mask = np.where(key > query + num_tokens, -1e9, 0.0).astype(dtype.to_numpy())
    return Tensor.from_dlpack(np.ascontiguousarray(mask)).to(device)
