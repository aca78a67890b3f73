"""Kata 20, correct but written differently: the rows go to numpy (float32, as Hugging Face
computes) and come back as MAX Tensors. Top-p is Hugging Face's own formulation (ascending sort,
remove where the running total <= 1 - top_p, scatter back); the penalty loops over distinct ids;
top-k uses np.partition; sampling is the inverse CDF with one vectorised numpy Generator."""
import numpy as np
from max.experimental.tensor import Tensor

_rng = np.random.default_rng()


def _np(t: Tensor) -> np.ndarray:
    return np.array(t.to_numpy(), dtype=np.float32)


def _max(a: np.ndarray, like: Tensor) -> Tensor:
    return Tensor(np.ascontiguousarray(a), device=like.device)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}")
    return _max(_np(logits) / np.float32(temperature), logits)


def apply_repetition_penalty(logits: Tensor, input_ids: Tensor, penalty: float) -> Tensor:
    x = _np(logits)
    for row, ids in enumerate(input_ids.to_numpy()):
        for token in set(ids.tolist()):
            v = x[row, token]
            x[row, token] = v * np.float32(penalty) if v < 0 else v / np.float32(penalty)
    return _max(x, logits)


def top_k_filter(logits: Tensor, top_k: int, min_tokens_to_keep: int = 1) -> Tensor:
    x = _np(logits)
    k = min(max(top_k, min_tokens_to_keep), x.shape[-1])
    kth = np.partition(x, x.shape[-1] - k, axis=-1)[:, x.shape[-1] - k:x.shape[-1] - k + 1]
    return _max(np.where(x < kth, -np.inf, x).astype(np.float32), logits)


def top_p_filter(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    x = _np(logits)
    order = np.argsort(x, axis=-1)  # ascending
    cum = np.cumsum(_softmax(np.take_along_axis(x, order, axis=-1)), axis=-1)
    remove_sorted = cum <= 1 - top_p
    remove_sorted[:, x.shape[-1] - min_tokens_to_keep:] = False
    remove = np.zeros_like(remove_sorted)
    np.put_along_axis(remove, order, remove_sorted, axis=-1)
    return _max(np.where(remove, -np.inf, x).astype(np.float32), logits)


def min_p_filter(logits: Tensor, min_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    x = _np(logits)
    p = _softmax(x)
    remove = p < min_p * p.max(axis=-1, keepdims=True)
    top = np.argsort(-p, axis=-1)[:, :min_tokens_to_keep]
    np.put_along_axis(remove, top, False, axis=-1)
    return _max(np.where(remove, -np.inf, x).astype(np.float32), logits)


def next_token_probs(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                     top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                     repetition_penalty: float = 1.0) -> Tensor:
    x = logits
    if repetition_penalty != 1.0:
        x = apply_repetition_penalty(x, input_ids, repetition_penalty)
    x = apply_temperature(x, temperature)
    if top_k:
        x = top_k_filter(x, top_k)
    if top_p < 1.0:
        x = top_p_filter(x, top_p)
    if min_p is not None:
        x = min_p_filter(x, min_p)
    return _max(_softmax(_np(x)).astype(np.float32), logits)


def sample_next_token(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                      top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                      repetition_penalty: float = 1.0) -> Tensor:
    p = next_token_probs(logits, input_ids, temperature=temperature, top_k=top_k, top_p=top_p,
                         min_p=min_p, repetition_penalty=repetition_penalty).to_numpy()
    cdf = np.cumsum(p.astype(np.float64), axis=-1)
    u = _rng.random((p.shape[0], 1)) * cdf[:, -1:]
    tokens = np.minimum((cdf <= u).sum(axis=-1), p.shape[-1] - 1)
    return Tensor(tokens.astype(np.int64), device=logits.device)
