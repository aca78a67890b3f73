"""Kata 2: the causal mask lets each query see exactly the keys Hugging Face's GPT-2 lets it see."""

import numpy as np
import pytest

from checker.child.testkit import as_numpy, expect, expect_close, fixture

from .spec import IGNORES_NUM_TOKENS, TOO_WIDE, TRANSPOSED, name_mistake

# (sequence_length, num_tokens) pairs whose visibility pattern was captured from GPT-2 itself.
CASES = [(1, 0), (5, 0), (8, 0), (4, 3)]
# Any value this negative removes a key after softmax in float32 (-inf, -1e9, finfo.min...).
BLOCKED_AT_MOST = -1e4


def _mask(learner, seq, past):
    from max.driver import CPU
    from max.dtype import DType

    return as_numpy(learner.causal_mask(seq, past, dtype=DType.float32, device=CPU()),
                    f"causal_mask({seq}, {past})")


def _where(positions) -> str:
    shown = ", ".join(f"[{i}, {j}]" for i, j in positions[:4])
    more = f" and {len(positions) - 4} more" if len(positions) > 4 else ""
    return shown + more


@pytest.mark.parametrize("seq,past", CASES, ids=[f"seq{s}_past{p}" for s, p in CASES])
def test_visibility_matches_gpt2(learner, seq, past):
    allowed = fixture("golden/step_02.npz")[f"allowed_{seq}_{past}"]
    mask = _mask(learner, seq, past)
    if mask is None:
        return
    if not expect(mask.shape == allowed.shape,
                  f"causal_mask({seq}, {past}) has shape {mask.shape}; expected {allowed.shape} "
                  "(rows: queries, columns: the num_tokens earlier keys plus this sequence)"
                  + (IGNORES_NUM_TOKENS if mask.shape == (seq, seq) and past else ".")):
        return
    expect(mask.dtype == np.float32, f"causal_mask returned {mask.dtype}; use the dtype argument.")
    leaked = [tuple(map(int, p)) for p in np.argwhere(~allowed & ~(mask <= BLOCKED_AT_MOST))]
    hidden = [tuple(map(int, p)) for p in np.argwhere(allowed & ~(np.abs(mask) <= 1e-6))]
    expect(not leaked, f"causal_mask({seq}, {past}) lets queries see future keys at {_where(leaked)} "
                       "[query, key]: those entries must be -inf" + _named(leaked, hidden, past))
    expect(not hidden, f"causal_mask({seq}, {past}) hides keys a query may see at {_where(hidden)} "
                       "[query, key]: those entries must be 0" + _named(leaked, hidden, past))


def _named(leaked, hidden, past) -> str:
    return name_mistake(leaked, hidden, past) or "."


def test_softmax_of_masked_scores(learner):
    """Added to attention scores, the mask gives exactly GPT-2's attention probabilities."""
    data = fixture("golden/step_02.npz")
    mask = _mask(learner, 5, 0)
    if mask is None or mask.shape != (5, 5):
        return
    expect_close("softmax(scores + mask)", _softmax(data["scores"], mask), data["probs"],
                 mistakes=_mask_mistakes(data["scores"], data["allowed_5_0"]))


def _softmax(scores, mask):
    scores = scores.astype(np.float64) + mask.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


def _mask_mistakes(scores, allowed) -> dict:
    """The softmax that the wrong masks _name recognises give (a masked diagonal leaves a row
    with nothing to see: NaN, which the comparison already reports)."""
    wide = allowed | np.eye(allowed.shape[0], k=1, dtype=bool)
    when = lambda advice: advice[0].lower() + advice[1:]  # noqa: E731 - "This is what happens when ..."
    return {when(TRANSPOSED): _softmax(scores, np.where(allowed.T, 0.0, -np.inf)),
            when(TOO_WIDE): _softmax(scores, np.where(wide, 0.0, -np.inf))}
