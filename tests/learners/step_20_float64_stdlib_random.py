"""Kata 20, correct but written differently: each row goes to numpy in float64 (not Hugging Face's
float32) and comes back as float32. Top-k takes the k-th of a descending sort; top-p keeps a token
while the mass strictly above it is below top_p; min-p compares log-probabilities; the penalty
uses np.unique and one vectorised write. Sampling uses Python's own `random` module (never
seeded: the checker must not depend on np.random), one random.choices per row."""
import random

import numpy as np
from max.experimental.tensor import Tensor


def _rows(t: Tensor) -> np.ndarray:
    return np.asarray(t.to_numpy(), dtype=np.float64)


def _back(a: np.ndarray, like: Tensor) -> Tensor:
    return Tensor(np.ascontiguousarray(a, dtype=np.float32), device=like.device)


def _probs(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    if temperature <= 0:
        raise ValueError("temperature must be above 0")
    return _back(_rows(logits) / temperature, logits)


def apply_repetition_penalty(logits: Tensor, input_ids: Tensor, penalty: float) -> Tensor:
    x = _rows(logits)
    ids = np.asarray(input_ids.to_numpy())
    for r in range(x.shape[0]):
        seen = np.unique(ids[r])
        v = x[r, seen]
        x[r, seen] = np.where(v < 0, v * penalty, v / penalty)
    return _back(x, logits)


def top_k_filter(logits: Tensor, top_k: int, min_tokens_to_keep: int = 1) -> Tensor:
    x = _rows(logits)
    k = min(max(top_k, min_tokens_to_keep), x.shape[-1])
    kth = -np.sort(-x, axis=-1)[:, k - 1:k]
    return _back(np.where(x >= kth, x, -np.inf), logits)


def top_p_filter(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    x = _rows(logits)
    order = np.argsort(-x, axis=-1, kind="stable")
    p = np.take_along_axis(_probs(x), order, axis=-1)
    above = np.cumsum(p, axis=-1) - p  # the mass of the tokens ranked above each one
    keep = above < top_p
    keep[:, :min_tokens_to_keep] = True
    # the smallest kept logit: every token at least as likely stays (ties kept whole)
    cut = np.min(np.where(keep, np.take_along_axis(x, order, axis=-1), np.inf), axis=-1,
                 keepdims=True)
    return _back(np.where(x >= cut, x, -np.inf), logits)


def min_p_filter(logits: Tensor, min_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    x = _rows(logits)
    logp = x - x.max(axis=-1, keepdims=True)  # log(p / p_max)
    keep = logp >= np.log(min_p) if min_p > 0 else np.ones_like(x, dtype=bool)
    kth = -np.sort(-x, axis=-1)[:, min_tokens_to_keep - 1:min_tokens_to_keep]
    return _back(np.where(keep | (x >= kth), x, -np.inf), logits)


def next_token_probs(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                     top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                     repetition_penalty: float = 1.0) -> Tensor:
    scores = logits
    if repetition_penalty != 1.0:
        scores = apply_repetition_penalty(scores, input_ids, repetition_penalty)
    scores = apply_temperature(scores, temperature)
    if top_k:
        scores = top_k_filter(scores, top_k)
    if top_p < 1.0:
        scores = top_p_filter(scores, top_p)
    if min_p is not None:
        scores = min_p_filter(scores, min_p)
    return _back(_probs(_rows(scores)), logits)


def sample_next_token(logits: Tensor, input_ids: Tensor | None = None, **settings) -> Tensor:
    probs = _rows(next_token_probs(logits, input_ids, **settings))
    tokens = [random.choices(range(row.size), weights=row.tolist())[0] for row in probs]
    return Tensor(np.array(tokens, dtype=np.int64), device=logits.device)
