"""Kata 20: choosing the next token.

Hugging Face's logits processors, one function each: temperature, repetition penalty, top-k,
top-p and min-p, then the distribution they leave and one random draw from it. Every function
takes logits of shape (batch, vocab) and works on each row on its own. Read katas/step_20.md,
then run `kata check 20`.
"""

import numpy as np  # noqa: F401 - you will need it
from max.dtype import DType  # noqa: F401 - you will need it
from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.tensor import Tensor

NEG_INF = float("-inf")  # what a filter writes over the logits it removes


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """TemperatureLogitsWarper: logits / temperature. Raise ValueError if temperature <= 0."""
    # TODO
    return None


def apply_repetition_penalty(logits: Tensor, input_ids: Tensor, penalty: float) -> Tensor:
    """RepetitionPenaltyLogitsProcessor. input_ids: (batch, seq) int64, the tokens so far.

    Every token that occurs in a row's input_ids (once, however often it occurs) gets its logit
    divided by penalty if the logit is positive, multiplied by penalty if it is negative."""
    # TODO: read the logits of those tokens, penalise them, write them back (or use a mask)
    return None


def top_k_filter(logits: Tensor, top_k: int, min_tokens_to_keep: int = 1) -> Tensor:
    """TopKLogitsWarper: -inf for every token whose logit is below the k-th largest of its row,
    with k = max(top_k, min_tokens_to_keep). Tokens tied with the k-th largest stay."""
    # TODO
    return None


def top_p_filter(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    """TopPLogitsWarper: keeps the smallest set of most likely tokens whose probabilities add up
    to at least top_p (the token that crosses top_p is kept), and at least the
    min_tokens_to_keep most likely; -inf for the others."""
    # TODO: sort each row (F.top_k with k = vocab), softmax, running total, find the cut
    return None


def min_p_filter(logits: Tensor, min_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    """MinPLogitsWarper: -inf for every token whose probability is below min_p times the most
    likely token's probability; the min_tokens_to_keep most likely always stay."""
    # TODO
    return None


def next_token_probs(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                     top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                     repetition_penalty: float = 1.0) -> Tensor:
    """The (batch, vocab) probabilities generate(do_sample=True, ...) draws the next token from.

    In generate's order: repetition penalty, temperature, top-k, top-p, min-p, softmax. A
    setting that is off (top_k None or 0, top_p 1.0, min_p None, repetition_penalty 1.0) is
    skipped."""
    # TODO
    return None


def sample_next_token(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                      top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                      repetition_penalty: float = 1.0) -> Tensor:
    """One token id per row, drawn at random from next_token_probs: a (batch,) int64 Tensor.

    Any random generator will do (np.random, a numpy Generator, MAX's random), as long as each
    call draws new tokens."""
    # TODO
    return None
