"""Kata 23 (speculative decoding): answers written another way pass; every named mistake fails, by
its name; the numpy references the checker uses (kit.prompt_lookup, the rounds a run must make,
the statistical constants) agree with Hugging Face's golden data, and the statistical check's
bounds hold as its comment argues.

As tests/test_batched_generation_kata.py: each learner file replaces katas/step_23.py of the real
course, the earlier katas coming from the reference solutions; mistakes are small changes of
kata 23's reference solution (MUTANTS); the correct files in tests/learners/ are written
differently from it."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import bothways
from checker import fixture_files
from checker.models import llama, llama_data
from conftest import REPO

KATA = 23
FIXTURES = REPO / "fixtures"
kit = importlib.import_module("checker.course.kata23_speculative_decoding.kit")

CORRECT = ["step_23_numpy_windows.py", "step_23_hf_style.py"]

EMITTED = "        emitted = (draft[:agree] + [choices[agree]])[:left]"
AGREE = "        while agree < len(draft) and draft[agree] == choices[agree]:\n"
CROP = "        cache.crop(len(ids) - 1)"
RESIDUAL = "    return residual / residual.sum(axis=-1, keepdims=True)\n"
ACCEPT = "    return np.minimum(1.0, p / q)\n"
CROP_KEYS = "            self.keys[layer] = self.keys[layer][:, :, :max_length]\n"
CROP_VALUES = "            self.values[layer] = self.values[layer][:, :, :max_length]\n"

# file name -> [(old, new), ...] and what the check must say
MUTANTS = {
    "step_23_bonus_forgotten.py": (
        [(EMITTED, "        emitted = (draft if draft and agree == len(draft) else "
                   "draft[:agree] + [choices[agree]])[:left]")], "the bonus token is forgotten"),
    "step_23_cache_not_cropped.py": ([(CROP, "        pass")], "the cache is not cropped after a rejection"),
    "step_23_accepts_on_draft_argmax.py": (
        [(AGREE, AGREE.replace("choices[agree]", "draft[agree]"))],
        "acceptance is compared on the draft's own choices instead of the target's"),
    "step_23_residual_not_renormalised.py": ([(RESIDUAL, "    return residual\n")],
                                             "residual distribution is not renormalised"),
    "step_23_accept_without_min.py": ([(ACCEPT, "    return p / q\n")], "p/q without the min"),
    "step_23_crop_keeps_the_end.py": ([(CROP_KEYS, CROP_KEYS.replace(":max_length]", "-max_length:]")),
                                       (CROP_VALUES, CROP_VALUES.replace(":max_length]", "-max_length:]"))],
                                      "crop keeps the LAST positions"),
}


_check, (test_the_reference_solution_passes, test_the_skeleton_fails,
         test_correct_but_different_passes,
         test_mistake_fails_by_name) = bothways.kata_tests(KATA, CORRECT, MUTANTS)



# ---- the numpy references and the golden data, against Hugging Face -----------------------------

def _golden() -> dict:
    return fixture_files.load(FIXTURES, "golden/step_23.npz")


def test_prompt_lookup_reference_is_hugging_faces():
    g = _golden()
    sequence = g["prompt_ids"].tolist() + g["greedy_ids"].tolist()
    drafts = kit.split(g["lookup_case_drafts"], g["lookup_case_draft_lengths"])
    for length, num, ngram, want in zip(g["lookup_case_lengths"], g["lookup_case_num_tokens"],
                                        g["lookup_case_ngram"], drafts):
        assert kit.prompt_lookup(sequence[:length], int(num), int(ngram)) == want


def test_hugging_faces_accepted_counts_are_what_its_drafts_imply():
    """Rounds replayed in numpy with the reference prompt lookup: Hugging Face's counts, one call
    per round, sum(accepted + 1) tokens: the accounting the hidden tests hold the learner to."""
    g = _golden()
    prompt, greedy = g["prompt_ids"].tolist(), g["greedy_ids"].tolist()
    ids, rounds = list(prompt), []
    while len(ids) - len(prompt) < len(greedy):
        left = len(greedy) - (len(ids) - len(prompt))
        draft = kit.prompt_lookup(ids, int(g["lookup_num_tokens"]), int(g["lookup_ngram"])) if left > 1 else []
        rounds.append(kit.Round(list(ids), draft, None, []))
        accepted = kit.accepted_implied(prompt, greedy, len(greedy), None, rounds)[-1]
        ids += greedy[len(ids) - len(prompt):len(ids) - len(prompt) + accepted + 1]
    assert kit.accepted_implied(prompt, greedy, len(greedy), None, rounds) == g["lookup_accepted"].tolist()


def test_golden_greedy_is_the_numpy_llamas():
    g = _golden()
    fx = llama_data.Fixtures(FIXTURES)
    assert llama.greedy_alone(g["prompt_ids"], len(g["greedy_ids"]), fx.weights, fx.config) == g["greedy_ids"].tolist()


# ---- the statistical check: its bounds, and its power against wrong samplers ----------------------

def _emitted_distributions(accept_fn, residual_fn):
    """Exact distributions of the tokens at positions 0, 1, 2 (among calls reaching them) and the
    mean number emitted, of a sampler built from accept_fn and residual_fn (numpy, no sampling)."""
    q, p = kit.SAMPLE_Q, kit.SAMPLE_P
    dists, reach = [], 1.0
    mean = 1.0
    for j in range(2):
        a = np.minimum(1, accept_fn(j))  # acceptance per drafted token value
        kept = q[j] * a
        res = residual_fn(j)
        dists.append(kept + (1 - kept.sum()) * res)
        reach *= kept.sum()
        mean += reach
    dists.append(p[2])
    return dists, mean


def test_false_failure_bound_is_below_one_in_a_million():
    assert 4 * kit.SAMPLE_DELTA < 1e-6
    assert abs(kit.dkw_epsilon(20000) - 0.0205) < 5e-4  # the comment beside the test
    assert abs(kit.hoeffding_epsilon(20000, 2) - 0.041) < 1e-3
    right, mean = _emitted_distributions(lambda j: kit.SAMPLE_P[j] / kit.SAMPLE_Q[j],
                                         lambda j: np.maximum(kit.SAMPLE_P[j] - kit.SAMPLE_Q[j], 0)
                                         / np.maximum(kit.SAMPLE_P[j] - kit.SAMPLE_Q[j], 0).sum())
    for j in range(3):
        assert np.allclose(right[j], kit.SAMPLE_P[j])  # the theorem, on the test's numbers
    assert abs(mean - kit.expected_emitted()) < 1e-12


def test_wrong_samplers_are_far_beyond_the_tolerance():
    """Drawing a rejected position from p (no residual) or from q, or accepting every draft: at
    least one check is off by more than twice its tolerance, so such a sampler passes with
    probability below 2 exp(-2 n eps^2) = 1e-7 (and far less)."""
    p, q = kit.SAMPLE_P, kit.SAMPLE_Q
    eps = kit.dkw_epsilon(int(kit.SAMPLE_TRIALS * 0.3))  # position 1 is reached by ~60% of calls
    ratio = lambda j: p[j] / q[j]  # noqa: E731
    for accept, residual in ((ratio, lambda j: p[j]), (ratio, lambda j: q[j]),
                             (lambda j: np.ones(5), lambda j: p[j])):
        dists, mean = _emitted_distributions(accept, residual)
        far = max(np.abs(np.cumsum(dists[j]) - np.cumsum(p[j])).max() for j in range(2))
        assert far > 2 * eps or abs(mean - kit.expected_emitted()) > 2 * kit.hoeffding_epsilon(20000, 2)


# ---- the parent's judgement of the fresh inputs (numpy only) ------------------------------------

def _spec():
    return bothways.spec_of(KATA)


def _fresh(seed: int):
    spec = _spec()
    inputs = spec.draw(np.random.default_rng(seed), FIXTURES)
    fx = llama_data.Fixtures(FIXTURES)
    prompt = inputs["prompt"].tolist()
    tokens = llama.greedy_alone(prompt, spec.MAX_NEW, fx.weights, fx.config)
    ids, rounds, drafts = list(prompt), [], []
    while len(ids) - len(prompt) < spec.MAX_NEW:
        left = spec.MAX_NEW - (len(ids) - len(prompt))
        draft = kit.prompt_lookup(ids, spec.NUM_TOKENS, 2) if left > 1 else []
        rounds.append(kit.Round(None, draft, None, []))
        drafts.append(draft)
        accepted = kit.accepted_implied(prompt, tokens, spec.MAX_NEW, None, rounds)[-1]
        ids += tokens[len(ids) - len(prompt):len(ids) - len(prompt) + accepted + 1]
    lookups = [kit.prompt_lookup(c, 3, int(n)) for c, n in zip(inputs["contexts"], inputs["ngrams"])]
    return inputs, {
        "tokens": np.array(tokens, np.int64),
        "accepted": np.array(kit.accepted_implied(prompt, tokens, spec.MAX_NEW, None, rounds), np.int64),
        "draft_lengths": np.array([len(d) for d in drafts], np.int64),
        "drafts": np.array([t for d in drafts for t in d], np.int64),
        "lookup_lengths": np.array([len(x) for x in lookups], np.int64),
        "lookups": np.array([t for x in lookups for t in x], np.int64)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fresh_right_answers_pass(seed):
    inputs, outputs = _fresh(seed)
    assert _spec().judge(inputs, outputs, FIXTURES) is None


def test_fresh_wrong_answers_fail():
    inputs, outputs = _fresh(0)
    spec = _spec()
    wrong = dict(outputs, tokens=outputs["tokens"].copy())
    wrong["tokens"][-1] = (wrong["tokens"][-1] + 1) % 49152
    assert "greedy" in spec.judge(inputs, wrong, FIXTURES)
    assert "accepted" in spec.judge(inputs, dict(outputs, accepted=outputs["accepted"] + 1), FIXTURES)
    bad = dict(outputs, lookups=outputs["lookups"][::-1].copy())
    if outputs["lookups"].size > 1 and not np.array_equal(bad["lookups"], outputs["lookups"]):
        assert "prompt_lookup" in spec.judge(inputs, bad, FIXTURES)
    assert spec.judge(inputs, {}, FIXTURES) == "no tokens came back"
