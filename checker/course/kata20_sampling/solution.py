"""Kata 20: choosing the next token: Hugging Face's logits processors, then one random draw."""
import numpy as np
from max.dtype import DType
from max.experimental import functional as F
from max.experimental.tensor import Tensor

NEG_INF = float("-inf")


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """TemperatureLogitsWarper: logits / temperature (below 1 sharper, above 1 flatter)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}; use greedy decoding instead")
    return logits / temperature


def apply_repetition_penalty(logits: Tensor, input_ids: Tensor, penalty: float) -> Tensor:
    """RepetitionPenaltyLogitsProcessor: each token already in the row's input_ids is made less
    likely once: a positive logit is divided by the penalty, a negative one multiplied by it (a
    negative logit divided by 1.3 would move toward 0: MORE likely)."""
    seen = F.gather_nd(logits, input_ids.reshape([*input_ids.shape, 1]), batch_dims=1)  # (b, s)
    penalised = F.where(seen < 0, seen * penalty, seen / penalty)
    # a repeated id writes the same value twice: penalised once, however often it occurs
    return F.scatter(logits, penalised, input_ids, axis=-1)


def top_k_filter(logits: Tensor, top_k: int, min_tokens_to_keep: int = 1) -> Tensor:
    """TopKLogitsWarper: keeps every token whose logit is >= the k-th largest (a token tied with
    the k-th is kept too, so ties can keep more than k)."""
    k = min(max(top_k, min_tokens_to_keep), int(logits.shape[-1]))
    values, _ = F.top_k(logits, k, axis=-1)  # (b, k), largest first
    kth = values[:, k - 1:k]
    return F.where(logits < kth, NEG_INF, logits)


def top_p_filter(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    """TopPLogitsWarper: keeps the smallest set of most likely tokens whose probabilities add up
    to at least top_p: a token is kept while the tokens above it hold less than top_p, so the one
    that crosses top_p is kept too."""
    vocab = int(logits.shape[-1])
    ordered, _ = F.top_k(logits, vocab, axis=-1)  # every logit, largest first
    probs = F.softmax(ordered)
    # the mass from each token to the end, summed from the smallest up as Hugging Face does:
    # the token is removed when it and everything below it hold <= 1 - top_p
    from_here = F.cumsum(probs, axis=-1, reverse=True)
    rank = F.arange(0, vocab, 1, dtype=DType.int64, device=logits.device)
    removed = (from_here <= 1 - top_p) & (rank >= min_tokens_to_keep)
    # the smallest logit still kept is the cut: everything below it goes
    cut = F.min(F.where(removed, float("inf"), ordered), axis=-1)  # (b, 1)
    return F.where(logits < cut, NEG_INF, logits)


def min_p_filter(logits: Tensor, min_p: float, min_tokens_to_keep: int = 1) -> Tensor:
    """MinPLogitsWarper: removes tokens less likely than min_p times the most likely token, but
    keeps at least the min_tokens_to_keep most likely."""
    probs = F.softmax(logits)
    threshold = min_p * F.max(probs, axis=-1)  # (b, 1): scales with the model's confidence
    kth = F.top_k(probs, min_tokens_to_keep, axis=-1)[0][:, min_tokens_to_keep - 1:]
    threshold = F.min(F.concat([threshold, kth], axis=-1), axis=-1)
    return F.where(probs < threshold, NEG_INF, logits)


def next_token_probs(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                     top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                     repetition_penalty: float = 1.0) -> Tensor:
    """The distribution Hugging Face's generate(do_sample=True) draws from: its processors in its
    order (repetition penalty, temperature, top-k, top-p, min-p), then softmax. The softmax of the
    filtered logits renormalises: the kept probabilities add up to 1 again."""
    scores = logits
    if repetition_penalty != 1.0:
        scores = apply_repetition_penalty(scores, input_ids, repetition_penalty)
    scores = apply_temperature(scores, temperature)  # before the filters: top-p and min-p see it
    if top_k:
        scores = top_k_filter(scores, top_k)
    if top_p < 1.0:
        scores = top_p_filter(scores, top_p)
    if min_p is not None:
        scores = min_p_filter(scores, min_p)
    return F.softmax(scores)


_rng = np.random.default_rng()


def sample_next_token(logits: Tensor, input_ids: Tensor | None = None, *, temperature: float = 1.0,
                      top_k: int | None = None, top_p: float = 1.0, min_p: float | None = None,
                      repetition_penalty: float = 1.0) -> Tensor:
    """One token id per row, drawn from next_token_probs: a (batch,) int64 Tensor."""
    probs = next_token_probs(logits, input_ids, temperature=temperature, top_k=top_k, top_p=top_p,
                             min_p=min_p, repetition_penalty=repetition_penalty)
    probs = probs.to_numpy().astype(np.float64)
    probs /= probs.sum(axis=-1, keepdims=True)  # float32 sums are 1 only to ~1e-7
    tokens = [_rng.choice(probs.shape[-1], p=row) for row in probs]
    return Tensor(np.array(tokens, dtype=np.int64), device=logits.device)
