"""Choosing the next token (kata 20) in float64 numpy: Hugging Face's logits processors, the
distribution they leave, and the named mistakes.

Every function takes scores of shape (batch, vocab) and returns a new array; a filter sets the
entries it removes to -inf, exactly as TemperatureLogitsWarper, RepetitionPenaltyLogitsProcessor,
TopKLogitsWarper, TopPLogitsWarper and MinPLogitsWarper (transformers 5.x) do, and
next_token_probs chains them in the order `generate` does: repetition penalty, temperature,
top-k, top-p, min-p, softmax. tests/test_part3_references.py proves them equal to Hugging Face's
own processors, ties included.

Ties: top-k and min-p keep every token tied with their threshold (they compare values). Top-p
decides by rank; when a group of equal logits straddles the top_p boundary, Hugging Face keeps
part of the group and which part is torch.sort's order (not stable on the CPU for large inputs).
This reference keeps the same NUMBER of them (the higher indices, as a stable ascending sort
would); the hidden tests never put a tie on that boundary (see `top_p_margin`).

The keyword flags reproduce the named mistakes of kata 20 (what each wrong implementation
computes), so the hidden tests can say which one a learner made.
"""

from __future__ import annotations

import numpy as np

from checker.models import numpy_ops

NEG_INF = -np.inf


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64 (numpy_ops.softmax after converting); -inf entries
    get probability 0."""
    return numpy_ops.softmax(np.asarray(scores, dtype=np.float64))


def apply_temperature(scores: np.ndarray, temperature: float) -> np.ndarray:
    """TemperatureLogitsWarper: scores / temperature (temperature > 0)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return np.asarray(scores, dtype=np.float64) / float(temperature)


def apply_repetition_penalty(scores: np.ndarray, input_ids: np.ndarray, penalty: float,
                             sign: str = "right") -> np.ndarray:
    """RepetitionPenaltyLogitsProcessor: every token that occurs in the row's input_ids (once,
    however often it occurs) has its score divided by `penalty` if positive, multiplied if negative,
    so that a penalty > 1 always makes it less likely.

    Mistakes: sign="divide_all" divides every repeated score (a negative one rises toward 0: the
    token gets MORE likely); sign="multiply_all" multiplies every repeated score (a positive one
    rises); sign="reversed" multiplies positives and divides negatives."""
    out = np.array(scores, dtype=np.float64, copy=True)
    ids = np.asarray(input_ids)
    for row in range(out.shape[0]):
        seen = np.unique(ids[row])
        s = out[row, seen]
        if sign == "right":
            s = np.where(s < 0, s * penalty, s / penalty)
        elif sign == "divide_all":
            s = s / penalty
        elif sign == "multiply_all":
            s = s * penalty
        elif sign == "reversed":
            s = np.where(s < 0, s / penalty, s * penalty)
        else:
            raise ValueError(sign)
        out[row, seen] = s
    return out


def top_k_filter(scores: np.ndarray, top_k: int, min_tokens_to_keep: int = 1,
                 offset: int = 0, strict: bool = False) -> np.ndarray:
    """TopKLogitsWarper: keeps every token whose score is >= the k-th largest (ties with it
    included, so possibly more than k), k = min(max(top_k, min_tokens_to_keep), vocab).

    Mistakes: offset=+1 (the threshold taken at the (k+1)-th largest: one token too many);
    strict=True removes the k-th largest itself (`<=` instead of `<`: k - 1 kept, and a tie on
    the boundary removed whole)."""
    scores = np.asarray(scores, dtype=np.float64)
    vocab = scores.shape[-1]
    k = min(max(int(top_k), int(min_tokens_to_keep)), vocab) + offset
    k = min(max(k, 1), vocab)
    kth = -np.sort(-scores, axis=-1)[..., k - 1:k]
    return np.where(scores <= kth if strict else scores < kth, NEG_INF, scores)


def top_p_keep(scores: np.ndarray, top_p: float, min_tokens_to_keep: int = 1,
               keep_crossing: bool = True) -> np.ndarray:
    """The boolean mask of the tokens TopPLogitsWarper keeps: in descending order of score, each
    token whose predecessors' probabilities add up to less than top_p (the smallest set whose
    probability reaches top_p, the token that crosses it included), and at least the
    min_tokens_to_keep most likely. Hugging Face computes it in ascending order: remove where
    the cumulative probability <= 1 - top_p (the same set).

    Mistake: keep_crossing=False drops the token that crosses top_p (keeps a set whose
    probability stays <= top_p)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, axis=-1, kind="stable")  # ascending, as Hugging Face sorts
    ascending = np.take_along_axis(scores, order, axis=-1)
    probs = softmax(ascending)
    if keep_crossing:
        remove = np.cumsum(probs, axis=-1) <= 1 - top_p
    else:  # keep only while the mass from the top, this token included, is <= top_p
        from_top = np.cumsum(probs[..., ::-1], axis=-1)[..., ::-1]
        remove = from_top > top_p
    remove[..., scores.shape[-1] - min_tokens_to_keep:] = False
    keep = np.empty_like(remove)
    np.put_along_axis(keep, order, ~remove, axis=-1)
    return keep


def top_p_filter(scores: np.ndarray, top_p: float, min_tokens_to_keep: int = 1,
                 keep_crossing: bool = True, whole_ties: bool = False) -> np.ndarray:
    """TopPLogitsWarper: the scores of the tokens top_p_keep removes set to -inf.

    whole_ties=True keeps every token tied with the last one kept (what a filter that cuts at
    the smallest kept logit does); it differs from Hugging Face only where a tie straddles the
    boundary, which the hidden tests avoid for the right answer but a mistake's boundary can
    meet."""
    scores = np.asarray(scores, dtype=np.float64)
    keep = top_p_keep(scores, top_p, min_tokens_to_keep, keep_crossing)
    if whole_ties:
        keep = scores >= np.where(keep, scores, np.inf).min(axis=-1, keepdims=True)
    return np.where(keep, scores, NEG_INF)


def min_p_filter(scores: np.ndarray, min_p: float, min_tokens_to_keep: int = 1,
                 scaled: bool = True) -> np.ndarray:
    """MinPLogitsWarper: removes tokens whose probability is below min_p times the most likely
    token's probability; keeps at least the min_tokens_to_keep most likely.

    Mistake: scaled=False compares the probabilities with min_p itself."""
    scores = np.asarray(scores, dtype=np.float64)
    probs = softmax(scores)
    threshold = min_p * probs.max(axis=-1, keepdims=True) if scaled else min_p
    remove = probs < threshold
    top = np.argsort(-probs, axis=-1, kind="stable")[..., :min_tokens_to_keep]
    np.put_along_axis(remove, top, False, axis=-1)
    return np.where(remove, NEG_INF, scores)


def processed_scores(logits: np.ndarray, input_ids: np.ndarray | None = None,
                     temperature: float = 1.0, top_k: int | None = None, top_p: float = 1.0,
                     min_p: float | None = None, repetition_penalty: float = 1.0,
                     min_tokens_to_keep: int = 1, temperature_last: bool = False,
                     top_k_offset: int = 0, top_k_strict: bool = False, keep_crossing: bool = True,
                     top_p_whole_ties: bool = False,
                     penalty_sign: str = "right", min_p_scaled: bool = True) -> np.ndarray:
    """The scores `generate(do_sample=True, ...)` samples from, in its order: repetition penalty,
    temperature, top-k, top-p, min-p. A setting that is off (top_k None or 0, top_p 1.0,
    min_p None, repetition_penalty 1.0) is skipped, as `generate` skips it.

    Mistake: temperature_last=True divides by the temperature after the filters (top-p and
    min-p then choose from the untempered distribution)."""
    s = np.asarray(logits, dtype=np.float64)
    if repetition_penalty != 1.0:
        s = apply_repetition_penalty(s, input_ids, repetition_penalty, sign=penalty_sign)
    if not temperature_last:
        s = apply_temperature(s, temperature)
    if top_k:
        s = top_k_filter(s, top_k, min_tokens_to_keep, offset=top_k_offset, strict=top_k_strict)
    if top_p < 1.0:
        s = top_p_filter(s, top_p, min_tokens_to_keep, keep_crossing=keep_crossing,
                         whole_ties=top_p_whole_ties)
    if min_p is not None:
        s = min_p_filter(s, min_p, min_tokens_to_keep, scaled=min_p_scaled)
    if temperature_last:
        s = apply_temperature(s, temperature)
    return s


def next_token_probs(logits: np.ndarray, input_ids: np.ndarray | None = None,
                     renormalise: bool = True, **settings) -> np.ndarray:
    """The distribution the next token is drawn from: softmax of processed_scores.

    Mistake: renormalise=False keeps the unfiltered softmax's probabilities for the kept tokens
    (zero elsewhere), so they add up to less than 1."""
    kept = processed_scores(logits, input_ids, **settings)
    if renormalise:
        return softmax(kept)
    unfiltered = processed_scores(logits, input_ids, **{
        k: v for k, v in settings.items() if k in ("temperature", "repetition_penalty")})
    return np.where(np.isfinite(kept), softmax(unfiltered), 0.0)


# ---- margins: inputs on which float32 arithmetic cannot flip a decision ------------------------

def top_p_margin(scores: np.ndarray, top_p: float) -> float:
    """How far top_p is from every cumulative probability (in descending order) of the row(s):
    the float32 sums of Hugging Face and of a learner agree on which token crosses top_p when
    this is well above float32's rounding (~1e-6). A tie straddling the boundary gives 0."""
    scores = np.asarray(scores, dtype=np.float64)
    gaps = []
    for row in scores.reshape(-1, scores.shape[-1]):
        order = np.argsort(-row, kind="stable")
        probs = softmax(row[order])
        before = np.concatenate([[0.0], np.cumsum(probs)[:-1]])  # mass of the tokens above
        gap = np.abs(before - top_p).min()
        # a tie group straddling the boundary: kept and removed tokens with equal scores
        keep = before < top_p
        kept_min = row[order][keep].min()
        removed = row[order][~keep]
        if removed.size and np.any(removed == kept_min):
            gap = 0.0
        gaps.append(gap)
    return float(min(gaps))


def min_p_margin(scores: np.ndarray, min_p: float) -> float:
    """Smallest relative distance between a token's probability and min_p * the top probability
    (a token exactly on the threshold is where float32 rounding could decide)."""
    probs = softmax(scores)
    threshold = min_p * probs.max(axis=-1, keepdims=True)
    live = probs > 0
    rel = np.abs(probs - threshold) / threshold
    return float(rel[live].min()) if live.any() else np.inf


def top_k_margin(scores: np.ndarray, top_k: int) -> float:
    """The gap between the k-th largest score and the next smaller distinct score below it
    (equal scores are ties, kept together, and need no margin)."""
    gaps = []
    for row in np.asarray(scores, dtype=np.float64).reshape(-1, np.shape(scores)[-1]):
        ordered = -np.sort(-row)
        kth = ordered[min(top_k, len(row)) - 1]
        below = ordered[ordered < kth]
        gaps.append(kth - below[0] if below.size else np.inf)
    return float(min(gaps))


def sample(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row, drawn from each row of probs (float64, rows summing to 1)."""
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((probs.shape[0], 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=-1), probs.shape[-1] - 1).astype(np.int64)
