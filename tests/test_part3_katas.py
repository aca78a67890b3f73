"""Part 3's released katas (20: choosing the next token, 21: mixture of experts): answers written
another way pass; every named mistake fails, by its name. Each learner file replaces
katas/step_NN.py of the real course (its fixtures and hidden tests), as `kata dev verify` does.
Mistakes are small changes of a reference solution (MUTANTS); the correct files in
tests/learners/ are written differently from the reference throughout, and kata 20's draw with
three different random generators (numpy's Generator, MAX's own random numbers, Python's
`random`), plus the reference changed to numpy's global np.random."""

from __future__ import annotations

import functools
import importlib
import math
import tempfile
from pathlib import Path

import pytest

from checker.curriculum import load_curriculum
import bothways
from conftest import LEARNERS, REPO, messages_of, mutate


CORRECT = ["step_20_numpy_ascending.py", "step_20_scatter_gumbel.py",
           "step_20_float64_stdlib_random.py",
           "step_21_gather_per_token.py", "step_21_sparse_loop.py", "step_21_expert_loop.py"]

DRAW = "    tokens = [_rng.choice(probs.shape[-1], p=row) for row in probs]\n"
# correct too: the reference drawing with numpy's global generator (the one the check seeds)
VARIANTS = {"step_20_global_np_random.py": (20, [(DRAW, "    tokens = [np.random.choice(probs.shape["
                                                        "-1], p=row) for row in probs]\n")])}

PROBS = "    return F.softmax(scores)\n"
TEMPER = ("    scores = apply_temperature(scores, temperature)  # before the filters: top-p and "
          "min-p see it\n")
PENALISED = "penalised = F.where(seen < 0, seen * penalty, seen / penalty)"
TOP_K_CUT = "return F.where(logits < kth, NEG_INF, logits)"
ROUTER_PROBS = ("        probs = F.softmax(router_logits)  # over ALL experts: each token's "
                "preferences\n        top_weights, top_indices = F.top_k(probs, self.top_k, "
                "axis=-1)\n")
RENORMALISE = "        top_weights = top_weights / F.sum(top_weights, axis=-1)\n"

# file name -> (kata, [(old, new), ...], what the check must say: a regular expression)
MUTANTS = {
    # kata 20
    "step_20_no_renormalisation.py": (20, [(PROBS, (
        "    unfiltered = apply_temperature(apply_repetition_penalty(logits, input_ids, "
        "repetition_penalty) if repetition_penalty != 1.0 else logits, temperature)\n"
        "    return F.where(scores == NEG_INF, 0.0, F.softmax(unfiltered))\n"))],
        "were not renormalised"),
    "step_20_top_p_drops_crossing_token.py": (20, [(
        "removed = (from_here <= 1 - top_p) & (rank >= min_tokens_to_keep)",
        "removed = (F.cumsum(probs, axis=-1) > top_p) & (rank >= min_tokens_to_keep)")],
        "dropped the token that crosses top_p"),
    "step_20_top_k_one_too_many.py": (20, [
        ("values, _ = F.top_k(logits, k, axis=-1)", "values, _ = F.top_k(logits, k + 1, axis=-1)"),
        ("kth = values[:, k - 1:k]", "kth = values[:, k:k + 1]")],
        "one token too many"),
    "step_20_top_k_removes_kth.py": (20, [(TOP_K_CUT, "return F.where(logits <= kth, NEG_INF, logits)")],
                                     "the k-th largest logit itself was removed"),
    "step_20_top_k_drops_ties.py": (20, [(f"    kth = values[:, k - 1:k]\n    {TOP_K_CUT}", (
        "    values, indices = F.top_k(logits, k, axis=-1)\n"
        "    return F.scatter(F.full_like(logits, NEG_INF), values, indices, axis=-1)"))],
        "keeps every token whose logit equals"),
    "step_20_temperature_after_filters.py": (20, [(TEMPER, ""), (PROBS, (
        "    return F.softmax(apply_temperature(scores, temperature))\n"))],
        "temperature was applied after the filters"),
    "step_20_temperature_multiplies.py": (20, [("return logits / temperature",
                                               "return logits * temperature")],
                                          "multiplied by the temperature"),
    "step_20_penalty_divides_negative_logits.py": (20, [(PENALISED, "penalised = seen / penalty")],
                                                   "a NEGATIVE logit divided by a penalty above 1"),
    "step_20_penalty_multiplies_positive_logits.py": (20, [(PENALISED, "penalised = seen * penalty")],
                                                      "every repeated logit was multiplied"),
    "step_20_penalty_signs_swapped.py": (20, [(PENALISED, (
        "penalised = F.where(seen < 0, seen / penalty, seen * penalty)"))],
        "the two signs are swapped"),
    "step_20_min_p_unscaled.py": (20, [("threshold = min_p * F.max(probs, axis=-1)",
                                        "threshold = min_p + 0 * F.max(probs, axis=-1)")],
                                  "min_p was compared with the probabilities directly"),
    "step_20_sampler_greedy.py": (20, [(DRAW, "    tokens = [int(np.argmax(row)) for row in probs]\n")],
                                  "They look like the argmax"),
    "step_20_sampler_reseeds.py": (20, [(DRAW, (
        "    rng = np.random.default_rng(0)\n"
        "    tokens = [rng.choice(probs.shape[-1], p=row) for row in probs]\n"))],
        "same 250 tokens on each of 4 calls"),
    "step_20_sampler_unfiltered.py": (20, [(
        "    probs = next_token_probs(logits, input_ids, temperature=temperature, top_k=top_k, "
        "top_p=top_p,\n                             min_p=min_p, repetition_penalty="
        "repetition_penalty)\n",
        "    probs = F.softmax(apply_temperature(logits, temperature))\n")],
        "Draw from the filtered distribution"),
    # kata 21
    "step_21_per_sequence_routing.py": (21, [("        _, top_k_weights, top_k_index = self.gate(tokens)", (
        "        per_sequence = F.broadcast_to(F.mean(hidden_states, axis=1), hidden_states.shape)\n"
        "        _, top_k_weights, top_k_index = self.gate(per_sequence.reshape("
        "[int(batch) * int(seq), int(hidden)]))"))],
        "chosen once per sequence"),
    "step_21_not_renormalised.py": (21, [(RENORMALISE, "")], "were not renormalised"),
    "step_21_top_k_before_softmax.py": (21, [(ROUTER_PROBS, (
        "        kept, top_indices = F.top_k(router_logits, self.top_k, axis=-1)\n"
        "        masked = F.where(router_logits >= kept[:, -1:], router_logits, 0.0)\n"
        "        top_weights = F.gather_nd(F.softmax(masked), top_indices.reshape("
        "[int(hidden_states.shape[0]), self.top_k, 1]), batch_dims=1)\n")), (RENORMALISE, "")],
        "top-k was taken before the softmax"),
    "step_21_top_1.py": (21, [("self.top_k = config.num_experts_per_tok", "self.top_k = 1")],
                         "only one expert was used"),
    "step_21_two_hardcoded.py": (21, [("self.top_k = config.num_experts_per_tok", "self.top_k = 2")],
                                 "fixed in your code"),
    "step_21_weights_before_experts.py": (21, [
        ("        gate_up = hidden_states @ self.gate_up_proj.transpose(1, 2)", (
            "        scaled = routing.transpose(0, 1).reshape([self.num_experts, tokens, 1]) "
            "* hidden_states\n        gate_up = scaled @ self.gate_up_proj.transpose(1, 2)")),
        ("return F.sum(out * weights, axis=0)", "return F.sum(out, axis=0)")],
        "applied to the token before the expert"),
    "step_21_gate_up_swapped.py": (21, [("gate, up = F.chunk(gate_up, 2, axis=-1)",
                                         "up, gate = F.chunk(gate_up, 2, axis=-1)")],
                                   "halves of gate_up_proj are swapped"),
}


def _learner_file(learner: str) -> Path:
    made = {**MUTANTS, **VARIANTS}
    if learner not in made:
        return LEARNERS / learner
    number, replacements = made[learner][:2]
    return mutate(number, replacements, Path(tempfile.mkdtemp(prefix="kata-mutant-")))


@functools.lru_cache(maxsize=None)
def _check(learner: str):
    return bothways.check(int(learner.split("_")[1]), _learner_file(learner))


def test_every_mistake_applies_to_the_reference():
    """Cheap and first: a solution edited since the mutants were written fails here, by name."""
    for name, (number, replacements, _) in {**MUTANTS, **{k: (*v, "") for k, v in VARIANTS.items()}}.items():
        source = (REPO / load_curriculum(REPO).get(number).solution).read_text()
        for old, _new in replacements:
            assert old in source, f"{name}: {old!r} is no longer in kata {number}'s solution"


def test_sampling_false_failure_bound_is_below_one_in_a_million():
    """The argument next to kata 20's statistical test, recomputed from its constants: 4 sampled
    settings and the fresh inputs' one, each failing a correct sampler (whose own distribution is
    within KS distance 1e-3 of Hugging Face's) with probability <= 2 exp(-2 n (EPS - 1e-3)^2)."""
    kit = importlib.import_module("checker.course.kata20_sampling.kit")
    tests = importlib.import_module("checker.course.kata20_sampling.test_kata")
    text = (REPO / "checker" / "course" / "kata20_sampling" / "test_kata.py").read_text()
    assert "Dvoretzky-Kiefer-Wolfowitz" in text and "below one in a million" in text
    assert kit.DRAWS == kit.ROWS * kit.CALLS == 1000
    per_case = 2 * math.exp(-2 * kit.DRAWS * (kit.EPS - 1e-3) ** 2)
    assert (len(tests.SAMPLED) + 1) * per_case < 1e-6
    assert kit.false_failure_bound() <= per_case and kit.SAME_CALLS_BOUND <= 1e-12


@pytest.mark.parametrize("learner", CORRECT + list(VARIANTS),
                         ids=[c[:-3] for c in CORRECT + list(VARIANTS)])
def test_correct_but_different_passes(learner):
    result = _check(learner)
    bothways.assert_passes(result)


@pytest.mark.parametrize("learner", sorted(MUTANTS), ids=[m[:-3] for m in sorted(MUTANTS)])
def test_mistake_fails_by_name(learner):
    result = _check(learner)
    bothways.assert_fails_by_name(result, MUTANTS[learner][2], messages_of(result))
