"""Kata 20: choosing the next token, against Hugging Face's own logits processors.

Each filter is compared value for value with TemperatureLogitsWarper, RepetitionPenaltyLogits-
Processor, TopKLogitsWarper, TopPLogitsWarper and MinPLogitsWarper on real logits with ties (a
tie on the top-k boundary, a tie at the top, bfloat16-rounded rows); next_token_probs with the
distribution generate(do_sample=True) draws from; sample_next_token statistically against that
exact distribution, whatever random generator it uses (the bound is argued next to the test).
Every named mistake is what the numpy reference computes with that mistake.
"""

import numpy as np
import pytest

from checker.models.stats import cdf_distance
from checker.child.testkit import expect, fixture, ids_tensor, note, tensor

from . import kit

FUNCTIONS = {"temperature": "apply_temperature", "penalty": "apply_repetition_penalty",
             "top_k": "top_k_filter", "top_p": "top_p_filter", "min_p": "min_p_filter"}
SAMPLED = ("plain softmax", "penalty, temperature, top-k and top-p", "temperature and min-p",
           "top-p alone")


def _golden():
    return fixture("golden/step_20.npz")


def _call(learner, kind, logits, ids, settings):
    function = getattr(learner, FUNCTIONS[kind])
    if kind == "temperature":
        return function(logits, settings["temperature"])
    if kind == "penalty":
        return function(logits, ids, settings["penalty"])
    keep = settings.get("min_tokens_to_keep", 1)
    if keep == 1:
        return function(logits, settings[kind])
    return function(logits, settings[kind], min_tokens_to_keep=keep)


def _ties_hint(kind: str, out: np.ndarray, expected: np.ndarray, settings: dict) -> str:
    if kind != "top_k":
        return ""
    k = max(settings["top_k"], settings.get("min_tokens_to_keep", 1))
    mine = (~kit.removed(out)).sum(axis=-1)
    theirs = (~kit.removed(expected)).sum(axis=-1)
    if (mine == k).all() and (theirs > k).any():
        return (f"You keep exactly {k} tokens per row; Hugging Face keeps every token whose logit "
                f"equals the {k}-th largest too (it removes only `logits < kth`), so ties can keep "
                "more than k.")
    return ""


@pytest.mark.parametrize("kind", list(FUNCTIONS), ids=list(FUNCTIONS.values()))
def test_filter_matches_hugging_face(learner, kind):
    g = _golden()
    logits, ids = tensor(g["logits"]), ids_tensor(g["input_ids"])
    for _, settings, expected in kit.cases(g, kind):
        args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in settings.items() if not (k == "min_tokens_to_keep" and v == 1))
        what = f"{FUNCTIONS[kind]}(logits, {'input_ids, ' if kind == 'penalty' else ''}{args})"
        out = kit.learner_output(what, lambda: _call(learner, kind, logits, ids, settings))
        if out is None:
            return
        mistakes = kit.filter_mistakes(kind, g["logits"], g["input_ids"], settings)
        kit.check(what, out, expected, g["logits"], mistakes, kit.FILTER_ATOL, kit.FILTER_RTOL,
              _ties_hint(kind, out, expected, settings))  # every case: each names what it sees


def test_next_token_probs_match_generate(learner):
    """The distribution generate(do_sample=True, ...) draws from, for five sets of settings."""
    g = _golden()
    logits, ids = tensor(g["logits"]), ids_tensor(g["input_ids"])
    for _, settings, expected in kit.cases(g, "combined"):
        what = f"next_token_probs(logits, input_ids, {kit.describe(settings)})"
        out = kit.learner_output(what, lambda: learner.next_token_probs(
            logits, ids, **kit.sampler_settings(settings)))
        if out is None:
            return
        kit.check(what, out, expected, g["logits"], kit.probs_mistakes(
            g["logits"], g["input_ids"], settings), kit.PROB_ATOL, kit.PROB_RTOL)


def test_sample_next_token_one_per_row(learner):
    """top_k=1 leaves one token per row (two where the top logits tie): every draw is known."""
    g = _golden()
    logits = g["logits"]
    what = "sample_next_token(logits, input_ids, top_k=1, temperature=0.5) on 4 different rows"
    out = kit.learner_output(what, lambda: learner.sample_next_token(
        tensor(logits), ids_tensor(g["input_ids"]), top_k=1, temperature=0.5), kind="i")
    if out is None:
        return
    if not expect(out.size == len(logits) and out.ndim in (1, 2),
                  f"{what} returned shape {out.shape}; expected ({len(logits)},): one token id per "
                  "row of the batch."):
        return
    tokens = out.reshape(-1)
    for r, token in enumerate(tokens):
        best = np.flatnonzero(logits[r] == logits[r].max())
        if not expect(int(token) in best, f"{what}: row {r} gave token {int(token)}; with top_k=1 "
                      f"the only token left is {int(best[0])} (that row's largest logit)"
                      + (f" or {int(best[1])} (tied)" if len(best) > 1 else "")
                      + ". Filter and sample each row from its own logits."):
            return


# Sampling check. Each case draws kit.DRAWS = 1000 tokens: kit.CALLS = 4 calls of
# sample_next_token on a batch of kit.ROWS = 250 copies of the same logits (one draw per row).
# A correct sampler's draws are 1000 independent tokens from the case's exact distribution p
# (the golden data: softmax of the scores generate(do_sample=True) itself samples from). With
# the vocabulary sorted by p, the Dvoretzky-Kiefer-Wolfowitz inequality (Massart's constant; it
# holds for discrete distributions too, conservatively) bounds the Kolmogorov-Smirnov distance D
# between the draws' empirical CDF and p's CDF, whatever generator made them:
#     P(D > EPS) <= 2 exp(-2 * DRAWS * EPS^2) = 2 exp(-2 * 1000 * 0.095^2) = 2 exp(-18.05) = 2.9e-8
# per case. A correct sampler's own distribution q is p up to float32 rounding (settings sit clear
# of float32's boundaries; a float32 running sum over 4096 tokens errs by at most ~2.5e-4): even
# at KS distance 1e-3 from p, P(D > EPS) <= 2 exp(-2 * 1000 * 0.094^2) = 4.2e-8 per case. These
# 4 cases and the fresh inputs' one: a correct sampler fails kata 20 with probability below
# 5 * 4.2e-8 = 2.1e-7, below one in a million (np.random is also seeded, so the common
# np.random path is reproducible). The other checks cannot fail a correct sampler:
# a removed token (probability exactly 0) is never drawn, and four calls returning the same 250
# tokens has probability (sum p^2)^250, which must be below 1e-12 before the test says so.
# Mistakes: a sampler drawing from q at KS distance d from p passes only if its draws land
# within EPS of p while being within d - EPS of q: P(pass) <= 2 exp(-2 DRAWS (d - EPS)^2),
# below 5e-9 for the smallest distance of a named sampling mistake here (0.195, printed by
# tests/test_part3_references.py); the deterministic tests above catch the others exactly.
@pytest.mark.parametrize("case", range(len(SAMPLED)), ids=SAMPLED)
def test_sampling_follows_the_filtered_distribution(learner, case):
    g = _golden()
    _, settings, probs = kit.cases(g, "sampled")[case]
    probs = probs[0].astype(np.float64)
    probs /= probs.sum()
    vocab = probs.shape[0]
    logits = tensor(np.repeat(g["sample.logits"], kit.ROWS, axis=0))
    ids = ids_tensor(np.repeat(g["sample.input_ids"], kit.ROWS, axis=0))
    what = f"sample_next_token(logits, input_ids, {kit.describe(settings)})"
    np.random.seed(kit.SEED + case)  # np.random users get reproducible draws
    calls = []
    for _ in range(kit.CALLS):
        out = kit.learner_output(what, lambda: learner.sample_next_token(
            logits, ids, **kit.sampler_settings(settings)), kind="i")
        if out is None:
            return
        if not expect(out.size == kit.ROWS, f"{what} on a batch of {kit.ROWS} rows returned shape "
                      f"{out.shape}; expected ({kit.ROWS},): one token per row."):
            return
        tokens = out.reshape(-1).astype(np.int64)
        if not expect(((tokens >= 0) & (tokens < vocab)).all(),
                      f"{what} returned {int(tokens.min())}..{int(tokens.max())}: token ids must "
                      f"lie in 0..{vocab - 1}."):
            return
        calls.append(tokens)
    draws = np.concatenate(calls)
    outside = draws[probs[draws] == 0]
    if outside.size:  # a correct sampler never draws a removed token: no false failure here
        token = int(outside[0])
        rank = int((g["sample.logits"][0] > g["sample.logits"][0, token]).sum()) + 1
        expect(False, f"{what} drew token {token} ({outside.size} of {draws.size} draws were "
                      f"removed tokens), the {rank}-th most likely before filtering; the filters "
                      f"keep {int((probs > 0).sum())} tokens. Draw from the filtered distribution: "
                      "next_token_probs, where removed tokens have probability 0.")
        return
    if (probs ** 2).sum() ** kit.ROWS < kit.SAME_CALLS_BOUND and len(set(calls[0])) > 1 and all(
            np.array_equal(calls[0], c) for c in calls[1:]):  # (one token everywhere: below)
        expect(False, f"{what} returned the same {kit.ROWS} tokens on each of {kit.CALLS} calls. "
                      "Does it seed its random generator inside the function? Seed once (or "
                      "never), so that each call draws new tokens.")
        return
    distance = cdf_distance(draws, probs)
    note(f"{kit.describe(settings)}: {draws.size} draws, distance {distance:.3f} from Hugging "
         f"Face's distribution (allowed {kit.EPS})")
    if distance <= kit.EPS:
        return
    top = int(np.argmax(probs))
    message = (f"{what}: your {draws.size} draws do not follow the filtered distribution "
               f"(Kolmogorov-Smirnov distance {distance:.3f}, allowed {kit.EPS}; a correct sampler "
               f"exceeds it with probability below {kit.false_failure_bound():.0e}). The most "
               f"likely token ({top}, probability {probs[top]:.3f}) came up "
               f"{np.mean(draws == top):.0%} of the time.")
    order = np.argsort(-probs, kind="stable")
    for advice, wrong in kit.sampling_mistakes(g["sample.logits"], g["sample.input_ids"],
                                                settings).items():
        if cdf_distance(draws, wrong, order=order) <= kit.EPS:
            message += " " + advice
            break
    expect(False, message)
