"""Kata 20, correct but written differently: everything stays in MAX. The penalty uses a one-hot
mask instead of gather/scatter; top-k takes the last of the k largest; top-p keeps by rank with
the exclusive running total (mass above < top_p) and scatters the decision back; min-p compares
log-probabilities; temperature multiplies by 1/t; sampling is the Gumbel-max trick with MAX's
own random numbers (no probabilities leave MAX)."""
import math

from max.dtype import DType
from max.experimental import functional as F
from max.experimental import random
from max.experimental.tensor import Tensor

NEG_INF = float("-inf")


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    if not temperature > 0:
        raise ValueError("temperature must be positive")
    return logits * (1.0 / temperature)


def apply_repetition_penalty(logits: Tensor, input_ids: Tensor, penalty: float) -> Tensor:
    batch, seq = input_ids.shape
    vocab = logits.shape[-1]
    ids = F.arange(0, int(vocab), 1, dtype=DType.int64, device=logits.device)
    hits = (input_ids.reshape([batch, seq, 1]) == ids).cast(DType.int32)  # (b, s, v)
    seen = F.max(hits, axis=1).reshape([batch, vocab]) > 0
    penalised = F.where(logits > 0, logits / penalty, logits * penalty)
    return F.where(seen, penalised, logits)


def top_k_filter(logits: Tensor, top_k: int, min_tokens_to_keep: int = 1) -> Tensor:
    k = min(max(top_k, min_tokens_to_keep), int(logits.shape[-1]))
    largest, _ = F.top_k(logits, k, axis=-1)
    return F.where(logits >= largest[:, -1:], logits, NEG_INF)


def top_p_filter(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    vocab = int(logits.shape[-1])
    ordered, order = F.top_k(logits, vocab, axis=-1)
    above = F.cumsum(F.softmax(ordered), axis=-1, exclusive=True)  # mass ranked above each token
    rank = F.arange(0, vocab, 1, dtype=DType.int64, device=logits.device)
    keep_sorted = ((above < top_p) | (rank < min_tokens_to_keep)).cast(DType.float32)
    keep = F.scatter(F.zeros_like(logits), keep_sorted, order, axis=-1)  # back to vocab order
    return F.where(keep > 0.5, logits, NEG_INF)


def min_p_filter(logits: Tensor, min_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    # p < min_p * p_max  <=>  logit - max_logit < log(min_p)
    gap = logits - F.max(logits, axis=-1)
    kth = F.top_k(logits, min_tokens_to_keep, axis=-1)[0][:, -1:]
    cutoff = math.log(min_p) if min_p > 0 else NEG_INF
    return F.where((gap >= cutoff) | (logits >= kth), logits, NEG_INF)


def next_token_probs(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                     top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                     repetition_penalty: float = 1.0) -> Tensor:
    return F.softmax(_scores(logits, input_ids, temperature, top_k, top_p, min_p,
                             repetition_penalty))


def _scores(logits, input_ids, temperature, top_k, top_p, min_p, repetition_penalty):
    if repetition_penalty != 1.0:
        logits = apply_repetition_penalty(logits, input_ids, repetition_penalty)
    logits = apply_temperature(logits, temperature)
    if top_k:
        logits = top_k_filter(logits, top_k)
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    if min_p is not None:
        logits = min_p_filter(logits, min_p)
    return logits


def sample_next_token(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                      top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                      repetition_penalty: float = 1.0) -> Tensor:
    # Gumbel-max: argmax(scores + Gumbel noise) is a draw from softmax(scores); -inf never wins.
    scores = _scores(logits, input_ids, temperature, top_k, top_p, min_p, repetition_penalty)
    u = random.uniform(scores.shape, range=(1e-7, 1.0), device=logits.device)
    gumbel = -F.log(-F.log(u))
    return F.argmax(scores + gumbel, axis=-1).reshape([int(logits.shape[0])])
