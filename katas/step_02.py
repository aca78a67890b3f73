"""Kata 2: the causal mask.

GPT-2 predicts each token from the tokens before it, never after. The causal mask is added to
the attention scores so that a query cannot see future keys. Read katas/step_02.md, then run
`kata check 2`.
"""

from max.driver import Device
from max.dtype import DType
from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.tensor import Tensor


def causal_mask(sequence_length: int, num_tokens: int, *, dtype: DType, device: Device) -> Tensor:
    """Return a (sequence_length, sequence_length + num_tokens) tensor of `dtype` on `device`.

    Entry [i, j] is 0.0 when query i may attend to key j (j <= i + num_tokens) and -inf when j
    lies in query i's future.
    """
    # TODO: build the mask with MAX operations and return it.
    return None
