"""Kata 24 (continuous batching): answers written another way pass; every named mistake fails, by
its name; the trace a right scheduler gives (kit.simulate) and the fresh judge are sound.

As tests/test_batched_generation_kata.py: each learner file replaces katas/step_24.py of the real
course, katas 2-22 coming from the reference solutions; mistakes are small changes of kata 24's
reference solution (MUTANTS); the correct files in tests/learners/ are written differently."""

from __future__ import annotations


import numpy as np
import pytest

import bothways
from checker import fixture_files
from checker.course.kata24_continuous_batching import kit
from checker.models import llama, llama_data
from conftest import REPO

KATA = 24
FIXTURES = REPO / "fixtures"

CORRECT = ["step_24_slot_lists.py", "step_24_compact_rows.py"]

ADMIT = "            if self.slots[slot] is None and self.waiting:\n"
NEWCOMERS = "        newcomers = set()\n"
RETIRE = "                self.slots[slot] = None  # retired: the slot is free for the next step\n"
CANCEL_FREES = ("            if request is not None and request.request_id in self.cancelled:\n"
                "                self.slots[slot] = None\n")
ROW_MASK = "                new_mask[slot, width - len(row):] = 1\n"
RESET = "                self.mask[slot] = 0  # the old occupant's columns are hidden from the newcomer\n"

# Without a cache: every step feeds each request's whole sequence so far to a new cache.
NO_CACHE_OLD = "        rows = [[] if r is None else (r.prompt if slot in newcomers else r.tokens[-1:])\n"
NO_CACHE_NEW = ("        self.cache, self.mask = KVCache(), np.zeros((len(self.slots), 0), dtype=np.int64)\n"
                "        for r in self.slots:\n"
                "            if r is not None:\n"
                "                r.position = 0\n"
                "        rows = [[] if r is None else r.prompt + r.tokens\n")

# file name -> [(old, new), ...] and what the check must say
MUTANTS = {
    "step_24_static_batching.py": (
        [(NEWCOMERS, NEWCOMERS + "        empty = all(s is None for s in self.slots)\n"),
         (ADMIT, ADMIT.replace("self.waiting:", "self.waiting and empty:"))], "static batching"),
    "step_24_slot_never_freed.py": ([(RETIRE, "                pass\n")], "a slot never freed"),
    "step_24_cancel_keeps_slot.py": (
        [(CANCEL_FREES, CANCEL_FREES.replace("self.slots[slot] = None", "pass"))],
        "a slot never freed"),
    "step_24_newest_first.py": ([("self.waiting.popleft()", "self.waiting.pop()")],
                                "not first come, first served"),
    "step_24_prefill_corrupts.py": (
        [(ROW_MASK, ROW_MASK.replace("width - len(row):",
                                     "(width - len(row)) if slot in newcomers else 0:"))],
        "a newcomer's prefill corrupted another row's cache"),
    "step_24_stale_slot.py": ([(RESET, "")], "a reused slot still shows its previous request's keys"),
    "step_24_no_cache.py": ([(NO_CACHE_OLD, NO_CACHE_NEW)], r"keep one KVCache|the KV cache holds the rest"),
}


_check, (test_the_reference_solution_passes, test_the_skeleton_fails,
         test_correct_but_different_passes,
         test_mistake_fails_by_name) = bothways.kata_tests(KATA, CORRECT, MUTANTS)



# ---- the schedule's expected traces, without MAX -------------------------------------------------

def _hidden_plan() -> kit.Plan:
    from checker.course.kata24_continuous_batching import test_kata as t

    return kit.Plan(t.IDS, [[1]] * 5, t.ARRIVE, t.MAX_TOKENS, dict(t.CANCEL), t.MAX_BATCH, 2, 7)


def test_hidden_schedule_shows_every_promise():
    """The scripted arrivals: a newcomer joins while others decode (step 1), a full batch makes
    two wait, an eos frees a slot that the OLDER waiting request takes (step 3), a cancel frees a
    slot at the next step (step 4), and each named policy gives another trace."""
    plan = _hidden_plan()
    g = fixture_files.load(FIXTURES, "golden/step_24.npz")
    alone = [g["new_ids"][i, :n].tolist() for i, n in enumerate(g["new_lengths"])]
    lengths = kit.natural_lengths(plan, alone)
    assert lengths == [5, 3, 6, 4, 6]
    want = [sorted(b) for b in kit.simulate(plan, lengths)]
    assert want == [[0, 1], [0, 1, 2], [0, 1, 2], [0, 2, 3], [0, 3, 4], [3, 4], [3, 4], [4], [4], [4]]
    for policy, name in (("static", kit.STATIC), ("lifo", kit.NOT_FCFS)):
        wrong = [sorted(b) for b in kit.simulate(plan, lengths, policy)]
        assert wrong != want
        assert kit.trace_problem(plan, wrong, lengths).endswith(name), policy
    assert kit.trace_problem(plan, want, lengths) is None


def test_golden_is_each_prompt_alone():
    """The numpy Llama's greedy run of each prompt alone gives Hugging Face's tokens (the fresh
    judge relies on it); one request stops at the eos token."""
    g = fixture_files.load(FIXTURES, "golden/step_24.npz")
    fx = llama_data.Fixtures(FIXTURES)
    prompts = np.split(g["prompt_ids"], np.cumsum(g["prompt_lengths"])[:-1])
    for i, prompt in enumerate(prompts):
        n = int(g["new_lengths"][i])
        assert llama.greedy_alone(prompt, g["new_ids"].shape[1], fx.weights, fx.config,
                                  int(g["eos_token_id"])) == g["new_ids"][i, :n].tolist()
    assert sorted(g["new_lengths"].tolist()) == [3, 6, 6, 6, 6]


# ---- the parent's judgement of the fresh inputs (numpy only) ------------------------------------

def _spec():
    return bothways.spec_of(KATA)


def _fresh(seed: int, policy: str = "right"):
    """Fresh inputs and what a scheduler following `policy` gives on them (right tokens)."""
    spec = _spec()
    inputs = spec.draw(np.random.default_rng(seed), FIXTURES)
    fx = llama_data.Fixtures(FIXTURES)
    plan = spec.plan_of(inputs)
    alone = spec.alone(inputs, fx)
    trace = kit.simulate(plan, kit.natural_lengths(plan, alone), policy)
    rows = [[] for _ in alone]
    for batch in trace:
        for i in batch:
            rows[i].append(alone[i][len(rows[i])])
    return inputs, {"trace": np.array([i for b in trace for i in sorted(b)], dtype=np.int64),
                    "trace_lengths": np.array([len(b) for b in trace], dtype=np.int64),
                    "tokens": np.array([t for r in rows for t in r], dtype=np.int64),
                    "token_lengths": np.array([len(r) for r in rows], dtype=np.int64)}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fresh_right_answers_pass(seed):
    inputs, outputs = _fresh(seed)
    assert _spec().judge(inputs, outputs, FIXTURES) is None


def test_fresh_wrong_answers_fail():
    spec = _spec()
    for seed in range(8):  # a seed where static batching shows
        inputs, right = _fresh(seed)
        _, static = _fresh(seed, "static")
        if not np.array_equal(right["trace"], static["trace"]) or \
                not np.array_equal(right["trace_lengths"], static["trace_lengths"]):
            assert "static batching" in spec.judge(inputs, static, FIXTURES)
            break
    else:
        pytest.fail("no seed shows static batching")
    inputs, outputs = _fresh(0)
    wrong = dict(outputs, tokens=outputs["tokens"].copy())
    wrong["tokens"][-1] = (wrong["tokens"][-1] + 1) % 100
    assert "token" in spec.judge(inputs, wrong, FIXTURES)
    assert spec.judge(inputs, {}, FIXTURES) == "no trace came back"
