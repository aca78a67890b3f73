"""Kata 20's helpers, shared by its hidden tests, its fresh-input spec (parent and child) and
tests/test_part3_references.py: the golden cases, what each named mistake computes (from the
numpy reference, checker/models/sampling.py), the statistical check's constants, and the
learner's calls as numpy with what differs said (child side). numpy only at import: the parent
never loads MAX, and the child-side helpers import MAX and the test kit when called."""

from __future__ import annotations

import numpy as np

from checker.models import sampling as ref

SETTINGS = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty")
FILTER_ATOL = FILTER_RTOL = 1e-5  # logits of size ~20 in float32: rounding is ~2e-6
PROB_ATOL, PROB_RTOL = 1e-6, 1e-4  # probabilities: float32 softmax against float64

# ---- the statistical check of sample_next_token (argued in test_kata.py, next to the test) ----
ROWS = 250
CALLS = 4
DRAWS = ROWS * CALLS
EPS = 0.095
SEED = 20261202
SAMPLE_VOCAB = 4096  # the sampled cases draw over a 4096-token slice of a real row
SAME_CALLS_BOUND = 1e-12


def false_failure_bound(draws: int = DRAWS, eps: float = EPS) -> float:
    return 2 * float(np.exp(-2 * draws * eps * eps))


def cases(g: dict, kind: str) -> list[tuple[int, dict, np.ndarray]]:
    """[(index, settings, Hugging Face's output)] of one kind of golden case, e.g. "top_k"."""
    found = []
    i = 0
    while f"{kind}.{i}.out" in g:
        prefix = f"{kind}.{i}."
        settings = {k[len(prefix):]: g[k].item() for k in g
                    if k.startswith(prefix) and not k.endswith(".out")}
        found.append((i, settings, g[f"{kind}.{i}.out"]))
        i += 1
    return found


def describe(settings: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in settings.items()) or "no settings"


def sampler_settings(settings: dict) -> dict:
    """The settings next_token_probs and sample_next_token take (keyword arguments)."""
    return {k: v for k, v in settings.items() if k in SETTINGS}


# ---- settings on which float32 cannot decide differently from float64 ---------------------------
P_MARGIN = 1e-4  # top_p this far from every cumulative probability (float32 sums err ~1e-6)
MIN_P_MARGIN = 1e-3  # no probability within 0.1% of min_p's threshold
TOP_K_MARGIN = 1e-4  # the k-th logit (after temperature) this far above the next distinct one


def choose_top_p(scores: np.ndarray, target: float) -> float:
    """A top_p near target that no row's cumulative probabilities come within P_MARGIN of, and
    where no tie straddles the boundary (a learner's float32 sum then decides as Hugging Face's)."""
    for step in range(1, 2000):
        for p in (target + step * 2.5e-5, target - step * 2.5e-5):
            if 0 < p < 1 and ref.top_p_margin(scores, p) > P_MARGIN:
                return round(p, 6)
    raise ValueError(f"no top_p near {target} is clear of the rows' cumulative probabilities")


def settle(settings: dict, logits: np.ndarray, ids: np.ndarray) -> dict:
    """settings with top_p moved off float32's boundaries; checks min_p and top_k margins."""
    settings = dict(settings)
    before_p = ref.processed_scores(logits, ids, **{k: v for k, v in settings.items()
                                                    if k != "top_p" and k != "min_p"})
    if "top_p" in settings:
        settings["top_p"] = choose_top_p(before_p, settings["top_p"])
    if settings.get("top_k"):
        before_k = ref.processed_scores(logits, ids, **{
            k: v for k, v in settings.items() if k in ("temperature", "repetition_penalty")})
        if ref.top_k_margin(before_k, settings["top_k"]) <= TOP_K_MARGIN:
            raise ValueError(f"top_k={settings['top_k']}: the k-th logit nearly ties the next one")
    if "min_p" in settings:
        before_min_p = ref.processed_scores(logits, ids, **{k: v for k, v in settings.items()
                                                            if k != "min_p"})
        if ref.min_p_margin(before_min_p, settings["min_p"]) <= MIN_P_MARGIN:
            raise ValueError(f"min_p={settings['min_p']} is within float32 rounding of a token")
    return settings


# ---- what each named mistake computes ----------------------------------------------------------

def _per_occurrence(logits, ids, penalty):
    out = np.array(logits, dtype=np.float64)
    for r, row in enumerate(np.asarray(ids)):
        for t in row:
            s = out[r, t]
            out[r, t] = s * penalty if s < 0 else s / penalty
    return out


PENALTY_SIGN = {
    "divide_all": "every repeated logit was divided by the penalty: a NEGATIVE logit divided by "
                  "a penalty above 1 moves toward 0, so its token gets MORE likely. Multiply "
                  "negative logits by the penalty and divide positive ones (Hugging Face's rule).",
    "multiply_all": "every repeated logit was multiplied by the penalty: a POSITIVE logit grows, "
                    "so its token gets MORE likely. Divide positive logits by the penalty and "
                    "multiply negative ones.",
    "reversed": "the two signs are swapped: positive logits were multiplied and negative ones "
                "divided. Divide positive logits by the penalty, multiply negative ones.",
}
PER_OCCURRENCE = ("the penalty was applied once per occurrence: a token that appears three times "
                  "was penalised three times. Hugging Face penalises each token in input_ids once.")
TOP_K_PLUS = ("top-k is off by one: one token too many was kept (the threshold taken at the "
              "(k+1)-th largest logit). Keep the tokens whose logit is >= the k-th largest.")
TOP_K_MINUS = ("top-k is off by one: the k-th largest logit itself was removed (`<=` instead of "
               "`<`, so k - 1 tokens are kept). Remove only the tokens whose logit is strictly "
               "below the k-th largest.")
TOP_P_CROSSING = ("top-p dropped the token that crosses top_p: it kept only tokens whose running "
                  "total stays <= top_p. Keep the smallest set whose probability REACHES top_p: a "
                  "token is kept while the tokens above it hold less than top_p.")
MIN_P_UNSCALED = ("min_p was compared with the probabilities directly. Hugging Face's threshold is "
                  "min_p times the most likely token's probability.")
NO_RENORMALISATION = ("the kept probabilities were not renormalised: they are the unfiltered "
                      "softmax's, and add up to less than 1. Take the softmax of the filtered "
                      "logits (-inf for removed tokens), or divide by the kept total.")
TEMPERATURE_AFTER = ("the temperature was applied after the filters: top-p and min-p then chose "
                     "from the untempered distribution. Hugging Face divides by the temperature "
                     "first, then filters.")
TEMPERATURE_TIMES = "the logits were multiplied by the temperature: divide them by it."
TOP_P_BEFORE_TOP_K = ("top-p ran before top-k: generate applies top-k first, then top-p on what "
                      "top-k kept (repetition penalty, temperature, top-k, top-p, min-p).")


def mtk_ignored(name: str) -> str:
    return (f"min_tokens_to_keep was ignored: {name} must keep at least that many of the most "
            "likely tokens, whatever the threshold says.")


def filter_mistakes(kind: str, logits: np.ndarray, ids: np.ndarray, settings: dict) -> dict:
    """advice -> what that mistake's filter returns, for one golden case (float64)."""
    s = settings
    if kind == "temperature":
        return {TEMPERATURE_TIMES: np.asarray(logits, dtype=np.float64) * s["temperature"]}
    if kind == "penalty":
        found = {advice: ref.apply_repetition_penalty(logits, ids, s["penalty"], sign=sign)
                 for sign, advice in PENALTY_SIGN.items()}
        found[PER_OCCURRENCE] = _per_occurrence(logits, ids, s["penalty"])
        return found
    keep = s.get("min_tokens_to_keep", 1)
    if kind == "top_k":
        found = {TOP_K_PLUS: ref.top_k_filter(logits, s["top_k"], keep, offset=1),
                 TOP_K_MINUS: ref.top_k_filter(logits, s["top_k"], keep, strict=True)}
        if keep > s["top_k"]:
            found[mtk_ignored("top_k_filter")] = ref.top_k_filter(logits, s["top_k"])
        return found
    if kind == "top_p":
        found = {TOP_P_CROSSING: [ref.top_p_filter(logits, s["top_p"], keep, keep_crossing=False,
                                                   whole_ties=whole) for whole in (False, True)]}
        if keep > 1:
            found[mtk_ignored("top_p_filter")] = ref.top_p_filter(logits, s["top_p"])
        return found
    if kind == "min_p":
        found = {MIN_P_UNSCALED: ref.min_p_filter(logits, s["min_p"], keep, scaled=False)}
        if keep > 1:
            found[mtk_ignored("min_p_filter")] = ref.min_p_filter(logits, s["min_p"])
        return found
    raise ValueError(kind)


def probs_mistakes(logits: np.ndarray, ids: np.ndarray, settings: dict) -> dict:
    """advice -> the distribution next_token_probs returns with that mistake (float64); only
    mistakes that change this case's answer."""
    s = sampler_settings(settings)
    right = ref.next_token_probs(logits, ids, **s)
    found = {NO_RENORMALISATION: ref.next_token_probs(logits, ids, renormalise=False, **s),
             TEMPERATURE_AFTER: ref.next_token_probs(logits, ids, temperature_last=True, **s)}
    if s.get("top_k"):
        found[TOP_K_PLUS] = ref.next_token_probs(logits, ids, top_k_offset=1, **s)
        found[TOP_K_MINUS] = ref.next_token_probs(logits, ids, top_k_strict=True, **s)
    if s.get("top_p", 1.0) < 1.0:
        found[TOP_P_CROSSING] = [ref.next_token_probs(logits, ids, keep_crossing=False,
                                                      top_p_whole_ties=whole, **s)
                                 for whole in (False, True)]
    if s.get("top_p", 1.0) < 1.0 and s.get("top_k"):
        scores = ref.apply_temperature(
            ref.apply_repetition_penalty(logits, ids, s.get("repetition_penalty", 1.0))
            if s.get("repetition_penalty", 1.0) != 1.0 else logits, s.get("temperature", 1.0))
        scores = ref.top_k_filter(ref.top_p_filter(scores, s["top_p"]), s["top_k"])
        if s.get("min_p") is not None:
            scores = ref.min_p_filter(scores, s["min_p"])
        found[TOP_P_BEFORE_TOP_K] = ref.softmax(scores)
    if s.get("min_p") is not None:
        found[MIN_P_UNSCALED] = ref.next_token_probs(logits, ids, min_p_scaled=False, **s)
    if s.get("repetition_penalty", 1.0) != 1.0:
        for sign, advice in PENALTY_SIGN.items():
            found[advice] = ref.next_token_probs(logits, ids, penalty_sign=sign, **s)
    return {advice: wrong for advice, wrong in found.items()
            if not all(np.allclose(w, right, atol=PROB_ATOL, rtol=PROB_RTOL)
                       for w in alternatives(wrong))}


def alternatives(wrong) -> list[np.ndarray]:
    """A mistake's output, or the list of outputs it may have (ties broken either way)."""
    return wrong if isinstance(wrong, list) else [wrong]


def recognise(out: np.ndarray, mistakes: dict, atol: float, rtol: float) -> str | None:
    """The advice of the first mistake whose output (or one of its alternatives) `out` equals."""
    from checker import diagnose

    with np.errstate(invalid="ignore"):  # -inf minus -inf where both filtered: equal
        for advice, wrong in mistakes.items():
            if any(diagnose.recognise(out, {advice: w}, atol=atol, rtol=rtol)
                   for w in alternatives(wrong)):
                return advice
    return None


# ---- the statistical check ---------------------------------------------------------------------

def ks(order_by: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between distributions a and b over tokens sorted by order_by
    (most likely first), the order the draws are judged in."""
    order = np.argsort(-order_by, kind="stable")
    return float(np.abs(np.cumsum(a[order]) - np.cumsum(b[order])).max())


def sampling_mistakes(logits: np.ndarray, ids: np.ndarray, settings: dict) -> dict:
    """advice -> the distribution a wrong sampler draws from (one row), for naming what the draws
    look like. Only those at KS distance > 2 * EPS from the right one are used (see above)."""
    s = sampler_settings(settings)
    right = ref.next_token_probs(logits, ids, **s)[0]
    kept = right > 0
    plain = {k: v for k, v in s.items() if k in ("temperature", "repetition_penalty")}
    untempered = {k: v for k, v in s.items() if k != "temperature"}
    found = {
        "They look like the argmax: draw at random from the probabilities, do not take the most "
        "likely token.": (np.arange(len(right)) == int(np.argmax(right))).astype(np.float64),
        "They look uniform over the kept tokens: draw with the probabilities as weights, not with "
        "equal weights.": kept / kept.sum(),
        "They look like the filters were not applied: draw from the filtered distribution "
        "(next_token_probs), not from the plain softmax.":
            ref.next_token_probs(logits, ids, **plain)[0],
        "They look like the temperature was ignored: divide the logits by it before filtering.":
            ref.next_token_probs(logits, ids, **untempered)[0],
        "They look like the temperature was applied after the filters: temper first, then filter.":
            ref.next_token_probs(logits, ids, temperature_last=True, **s)[0],
    }
    return {advice: wrong for advice, wrong in found.items() if ks(right, right, wrong) > 2 * EPS}


def removed(x: np.ndarray) -> np.ndarray:
    """The tokens a filter removed: -inf logits, or probabilities of exactly 0 (a kept token's
    probability can underflow to 0 in float32 only below ~1e-38, far below anything compared)."""
    x = np.asarray(x, dtype=np.float64)
    return np.isneginf(x) | (x == 0) if (x >= 0).all() else np.isneginf(x)


def filtered_differently(wrong: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Where one of two outputs keeps a token the other removes (ignoring probabilities that are
    both below 1e-30: float32 underflow, not filtering)."""
    wrong, right = np.asarray(wrong, dtype=np.float64), np.asarray(right, dtype=np.float64)
    live = np.maximum(np.nan_to_num(wrong, neginf=0), np.nan_to_num(right, neginf=0)) > 1e-30
    differ = removed(wrong) != removed(right)
    return differ & (live | np.isneginf(wrong) | np.isneginf(right))


def excess(wrong: np.ndarray, right: np.ndarray, atol: float, rtol: float) -> tuple[float, str]:
    """How many times the tolerance `wrong` is from `right` (inf when they filter different
    tokens)."""
    wrong, right = np.asarray(wrong, dtype=np.float64), np.asarray(right, dtype=np.float64)
    differ = int(filtered_differently(wrong, right).sum())
    if differ:
        return np.inf, f"{differ} tokens kept or removed differently"
    finite = np.isfinite(right)
    gap = np.abs(wrong[finite] - right[finite])
    ratio = gap / (atol + rtol * np.abs(right[finite]))
    return float(ratio.max()), f"max |difference| {gap.max():.3g}"


def mistake_margins(g: dict) -> dict[str, tuple[float, str]]:
    """For tests/test_part3_references.py: each named mistake of the hidden tests, on the golden
    case where it shows most: (how many times the hidden test's tolerance it is from Hugging
    Face's answer, what was measured). Filters are compared as logits (FILTER_ATOL/RTOL),
    next_token_probs as probabilities (PROB_ATOL/RTOL)."""
    logits, ids = g["logits"], g["input_ids"]
    margins: dict[str, tuple[float, str]] = {}

    def keep(name, found):
        if name not in margins or found[0] > margins[name][0]:
            margins[name] = found

    for kind in ("temperature", "penalty", "top_k", "top_p", "min_p"):
        for i, settings, out in cases(g, kind):
            for advice, wrong in filter_mistakes(kind, logits, ids, settings).items():
                keep(f"{kind}: {advice[:70]}", min((excess(w, out, FILTER_ATOL, FILTER_RTOL)
                                                    for w in alternatives(wrong)),
                                                   key=lambda found: found[0]))
    for i, settings, out in cases(g, "combined"):
        for advice, wrong in probs_mistakes(logits, ids, settings).items():
            keep(f"next_token_probs: {advice[:70]}", min((excess(w, out, PROB_ATOL, PROB_RTOL)
                                                          for w in alternatives(wrong)),
                                                         key=lambda found: found[0]))
    return margins


# ---- the learner's calls and what differs (child side: MAX and the test kit imported on call) ----

def numpy_of(value, what: str, kind: str = "f"):
    """The learner's MAX Tensor as numpy (float or int as `kind` says), or None after saying why."""
    from max.experimental.tensor import Tensor

    from checker.child.testkit import expect

    if value is None:
        expect(False, f"{what} returned None. Did you forget a `return` statement?")
        return None
    if not isinstance(value, Tensor):
        expect(False, f"{what} returned a {type(value).__name__}; return a MAX Tensor "
                      "(max.experimental.tensor.Tensor).")
        return None
    try:
        array = value.to_numpy()
    except Exception as exc:  # noqa: BLE001 - realizing learner graphs can fail any way
        expect(False, f"{what}: computing your tensor failed: {type(exc).__name__}: {exc}")
        return None
    if array.dtype.kind not in (kind if kind != "i" else "iu"):
        want = "floating-point values" if kind == "f" else "integer token ids (int64)"
        expect(False, f"{what} returned {array.dtype} values; expected {want}.")
        return None
    return array


def learner_output(what: str, call, kind: str = "f"):
    """Runs the learner's call (its MAX operations realized as one graph) -> numpy or None."""
    from checker.child.staging import batched
    from checker.child.testkit import FAILED, attempt

    value = attempt(what, lambda: batched(call))
    return None if value is FAILED else numpy_of(value, what, kind)


def kept_summary(out: np.ndarray, expected: np.ndarray, logits: np.ndarray) -> str:
    """The first row whose kept tokens differ: how many each keeps, and the first token that
    differs with its rank among that row's logits."""
    for r in range(expected.shape[0]):
        differ = filtered_differently(out[r], expected[r])
        if differ.any():
            token = int(np.flatnonzero(differ)[0])
            rank = int((logits[r] > logits[r, token]).sum()) + 1
            mine, theirs = int((~removed(out[r])).sum()), int((~removed(expected[r])).sum())
            which = ("keeps token {t} ({what}), which Hugging Face removes" if not
                     removed(out[r])[token] else "removes token {t} ({what}), which Hugging "
                     "Face keeps").format(t=token, what=f"logit {logits[r, token]:.6g}, rank "
                                                        f"{rank} in its row")
            tokens = lambda n: f"{n} token" + ("" if n == 1 else "s")  # noqa: E731
            return (f" Row {r}: yours keeps {tokens(mine)}, Hugging Face's {tokens(theirs)}; "
                    f"yours {which}.")
    return ""


def check(what: str, out: np.ndarray, expected: np.ndarray, logits: np.ndarray, mistakes: dict,
          atol: float, rtol: float, hint: str = "") -> bool:
    """out against Hugging Face's expected, recorded; a failure says which tokens are kept
    differently and names the mistake it matches (else gives `hint`)."""
    from checker import diagnose
    from checker.child.testkit import expect

    with np.errstate(invalid="ignore"):  # -inf minus -inf where both filtered: equal
        problem = diagnose.compare(what, out, expected, atol=atol, rtol=rtol)
    if problem is None:
        return True
    if out.shape == expected.shape:
        problem += kept_summary(out, expected, logits)
        advice = recognise(out, mistakes, atol=atol, rtol=rtol)
        if advice:
            problem += f"\nThis is what happens when {advice}"
        elif hint:
            problem += "\n" + hint
    return expect(False, problem)
