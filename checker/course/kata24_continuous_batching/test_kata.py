"""Kata 24: the learner's Scheduler driven through a scripted arrival schedule on the tiny Llama
(five requests, three slots: two arrive together, one while they decode, two while the batch is
full; one ends early at its end-of-sequence token, one is cancelled), judged by its step trace
(which requests ran at each step), by what it gave the model (one call per step, never more rows
than slots) and by every request's tokens, which must be Hugging Face's `generate` on the same
prompt alone. Named mistakes are read from the trace and from when a wrong token came
(kit.trace_problem, kit.tokens_problem)."""

import numpy as np

from checker.child.testkit import expect, fixture, note, once

from . import kit

IDS = ["req-a", "req-b", "req-c", "req-d", "req-e"]
ARRIVE = [0, 0, 1, 2, 2]  # request i is submitted before step ARRIVE[i]
MAX_TOKENS = [5, 6, 6, 4, 6]
CANCEL = {2: 4}  # request 2 is cancelled before step 4
MAX_BATCH = 3
EXTRA_STEPS = 2  # steps after the last request ends: nothing runs, the model is not called


def _golden():
    return fixture("golden/step_24.npz")


def _plan() -> kit.Plan:
    g = _golden()
    prompts = np.split(g["prompt_ids"], np.cumsum(g["prompt_lengths"])[:-1])
    return kit.Plan(IDS, [p.tolist() for p in prompts], ARRIVE, MAX_TOKENS, dict(CANCEL),
                    MAX_BATCH, int(g["pad_token_id"]), int(g["eos_token_id"]))


def _alone() -> list[list[int]]:
    g = _golden()
    return [g["new_ids"][i, :n].tolist() for i, n in enumerate(g["new_lengths"])]


def _lengths() -> list[int]:
    return kit.natural_lengths(_plan(), _alone())


def _driven(learner):
    steps = len(kit.simulate(_plan(), _lengths())) + EXTRA_STEPS
    return once("drive", lambda: kit.drive(learner, _plan(), steps))


def _ran(learner):
    driven = _driven(learner)
    if driven is None:
        return None
    if driven.problem:
        expect(False, driven.problem)
        return None
    return driven


def test_parameter_names(learner):
    """Your kata 22 model with the tiny Llama's weights (a mismatch is said by name)."""
    kit.model(learner)


def test_step_trace(learner):
    """Which requests run at each step: newcomers admitted at the next step while others decode,
    first come first served, a request leaving at its eos or max_tokens or its cancel and its slot
    reused at once; nothing runs once every request has ended."""
    driven = _ran(learner)
    if driven is None:
        return
    plan = _plan()
    problem = kit.trace_problem(plan, [sorted(b) for b in driven.trace], _lengths())
    if expect(problem is None, f"Scheduler on the scripted arrivals: {problem}"):
        note("steps: " + " ".join(kit._batch(plan, b) for b in driven.trace))


def test_one_model_call_per_step(learner):
    """Seen from the model: one call per step with a running request (every request of the step
    in it), none in an idle step, never more than max_batch_size rows, (rows, 1) ids when no
    newcomer joins and one cache while requests run; self.choose asked once per request per
    step."""
    driven = _ran(learner)
    if driven is None:
        return
    problem = kit.calls_problem(_plan(), driven)
    expect(problem is None, f"Scheduler on the scripted arrivals: {problem}")


def test_tokens_equal_each_request_alone(learner):
    """Every request's tokens are Hugging Face's greedy tokens for its prompt alone, whoever
    shared its steps (a cancelled request's, up to its cancel)."""
    driven = _ran(learner)
    if driven is None:
        return
    problem = kit.tokens_problem(_plan(), driven, _alone(), _lengths())
    if expect(problem is None, f"Scheduler on the scripted arrivals: {problem}"):
        note(f"tokens: {kit.tokens_of(driven, len(IDS))}")
