"""Kata 12: text generation with the learner's own GPT-2 (kata 11), against Hugging Face.

Greedy decoding is checked token for token, with the logits of every step. Sampling is checked
statistically against Hugging Face's next-token probabilities at three temperatures.
"""

import numpy as np
import pytest

from checker.models.stats import cdf_distance
from checker.child.testkit import FAILED, attempt, expect, expect_close, fixture, ids_tensor, note, run

from .kit import fixed_logits_model, recording_model, token_of

NEW_TOKENS = 16
TEMPERATURES = (0.5, 1.0, 1.5)

# Sampling check. For each temperature T the learner's generate_next_token draws N tokens from a
# model whose next-token logits are GPT-2's; we sort the vocabulary by Hugging Face's
# probability p_T and compare the empirical CDF of the draws with p_T's CDF (a Kolmogorov-
# Smirnov distance D). By the Dvoretzky-Kiefer-Wolfowitz inequality (Massart's constant), a
# correct sampler gives D > EPS with probability at most 2 exp(-2 N EPS^2) = 2 exp(-19.2) = 9.2e-9
# per temperature, so a correct implementation fails this kata with probability below
# 3 * 9.2e-9 < 3e-8 (far below one in a million), whatever random generator it uses (np.random
# is also seeded, so the common np.random.choice path is reproducible). The mistakes sit far
# beyond EPS on these logits (measured KS distances): forgetting the temperature, or applying
# it after softmax, 0.70 at T=0.5; multiplying by T, 0.94 at T=0.5; uniform sampling >= 0.70 at
# every T; always the argmax, 0.83 at T=1 and 0.98 at T=1.5. A mistake at distance d passes a
# temperature with probability at most 2 exp(-2 N (d - EPS)^2) <= 5e-5 (d = 0.70).
DRAWS = 60
EPS = 0.4
SEED = 20251125


def _golden():
    return fixture("golden/step_12.npz")


def test_greedy_next_token(learner):
    g = _golden()
    model = recording_model()
    if model is None:
        return
    value = attempt("generate_next_token(..., do_sample=False)",
                    lambda: learner.generate_next_token(model, ids_tensor(g["prompt_ids"]),
                                                        temperature=1.0, do_sample=False))
    if value is FAILED:
        return
    token = token_of(value, "generate_next_token(..., do_sample=False)")
    expected = int(g["greedy_ids"][0, g["prompt_ids"].shape[1]])
    if token is not None:
        expect(token == expected, f"greedy generate_next_token gave token {token}; GPT-2's most "
                                  f"likely next token is {expected}. Take F.argmax of the LAST "
                                  "position's logits.")


def test_greedy_generation(learner):
    g = _golden()
    model = recording_model()
    if model is None:
        return
    prompt = g["prompt_ids"]
    out = run("generate_tokens(model, ids, max_new_tokens=16, do_sample=False)",
              lambda: learner.generate_tokens(model, ids_tensor(prompt), max_new_tokens=NEW_TOKENS,
                                              temperature=1.0, do_sample=False), batch=False)
    if out is None:
        return
    expected = g["greedy_ids"]
    if not expect(out.shape == expected.shape,
                  f"generate_tokens returned shape {out.shape}; expected {expected.shape}: the "
                  f"{prompt.shape[1]} prompt tokens followed by {NEW_TOKENS} new ones."):
        return
    differ = [int(i) for i in np.flatnonzero(out[0] != expected[0])]
    if differ:
        i = differ[0]
        expect(False, f"Token {i} of the sequence is {int(out[0, i])}; GPT-2 generates "
                      f"{int(expected[0, i])} there (sequence so far: {out[0, :i].tolist()}).")
    if len(model.steps) == NEW_TOKENS:
        for step, (mine, theirs) in enumerate(zip(model.steps, g["step_logits"])):
            if not expect_close(f"logits at generation step {step + 1}", mine, theirs, atol=1e-3):
                break
    if not differ:
        note(f"Your GPT-2 wrote: {str(g['greedy_text'])!r}")


@pytest.mark.parametrize("temperature", TEMPERATURES, ids=[f"T={t:g}" for t in TEMPERATURES])
def test_sampling_distribution(learner, temperature):
    g = _golden()
    model = fixed_logits_model(g["next_logits"])
    ids = ids_tensor(g["prompt_ids"])
    np.random.seed(SEED)
    draws = []
    for _ in range(DRAWS):
        value = attempt(f"generate_next_token(..., temperature={temperature:g}, do_sample=True)",
                        lambda: learner.generate_next_token(model, ids, temperature=temperature,
                                                            do_sample=True))
        if value is FAILED:
            return
        token = token_of(value, "generate_next_token(..., do_sample=True)")
        if token is None:
            return
        if not expect(0 <= token < len(g["next_logits"]), f"sampled token {token} is not a "
                                                          "vocabulary id."):
            return
        draws.append(token)
    probs = g[f"probs_t{temperature:g}"].astype(np.float64)
    probs /= probs.sum()
    distance = cdf_distance(draws, probs)
    top = int(np.argmax(probs))
    share = draws.count(top) / len(draws)
    message = (
        f"At temperature {temperature:g}, your {DRAWS} samples do not follow GPT-2's "
        f"probabilities (distance {distance:.2f}, allowed {EPS}). The most likely token "
        f"({top}, probability {probs[top]:.2f}) came up {share:.0%} of the time.")
    if distance > EPS:
        message += " " + _which_mistake(draws, probs, g, temperature)
    expect(distance <= EPS, message)


def _which_mistake(draws, probs, g, temperature) -> str:
    """Names the sampling mistake the draws look like, judged on the same CDF distance."""
    logits = g["next_logits"].astype(np.float64)
    softmax = lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # noqa: E731
    mistakes = {
        "They look like the argmax was taken: with do_sample=True, draw from the probabilities.":
            (np.arange(len(probs)) == int(np.argmax(probs))).astype(np.float64),
        "They look uniform over the vocabulary: draw with the softmax probabilities as weights "
        "(np.random.choice(len(p), p=p)).": np.full(len(probs), 1 / len(probs)),
        "They look like the temperature was ignored or applied after softmax: divide the logits "
        "by the temperature BEFORE softmax.": softmax(logits),
        "They look like the logits were multiplied by the temperature: divide instead.":
            softmax(logits * temperature),
    }
    for advice, wrong in mistakes.items():  # the most specific first
        if cdf_distance(draws, wrong, order=np.argsort(-probs, kind="stable")) <= EPS:
            return advice
    return ("Divide the logits by the temperature BEFORE softmax, then draw from the "
            "probabilities (not argmax, not uniformly).")
