"""Kata 12: text generation, one token at a time.

Run the model, pick the next token from the last position's logits (greedily or by sampling
with a temperature), append it, repeat. Read katas/step_12.md, then run `kata check 12`.
"""

import numpy as np  # noqa: F401 - you will need it
from max.driver import CPU  # noqa: F401 - you will need it
from max.dtype import DType  # noqa: F401 - you will need it
from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


def generate_next_token(
    model: Module, input_ids: Tensor, temperature: float = 1.0, do_sample: bool = True
) -> Tensor:
    """Returns the next token id for a (1, seq) int64 input, as a (1,) int64 Tensor.

    The model maps (1, seq) ids to (1, seq, vocab_size) logits. do_sample=False picks the
    highest logit; do_sample=True draws from the softmax of logits / temperature and raises
    ValueError when temperature <= 0.
    """
    # TODO: run the model and keep the logits of the last position.
    # TODO: greedy: the index of the largest logit.
    # TODO: sampling: temperature, probabilities, one random draw, back into a MAX Tensor.
    return None


def generate_tokens(
    model: Module,
    input_ids: Tensor,
    max_new_tokens: int = 10,
    temperature: float = 1.0,
    do_sample: bool = True,
) -> Tensor:
    """Appends max_new_tokens tokens; returns (1, seq + max_new_tokens) int64."""
    # TODO: call generate_next_token max_new_tokens times, appending each token to the ids.
    return None
