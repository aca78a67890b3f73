"""Kata 24's fresh inputs: an arrival schedule nobody has seen (four random prompts of random
lengths arriving at random steps, random max_tokens, two slots, one request cancelled, an
end-of-sequence token that ends the first request early), run through the learner's Scheduler.
The parent works out each request's greedy tokens alone with the numpy Llama, the trace a right
scheduler gives (kit.simulate), and judges the learner's trace and tokens against them."""

import numpy as np

from checker.models import llama, llama_data

from . import kit

LOGITS_ATOL = 1e-3  # as kata 22: a token within this of the best logit is a right greedy choice
REQUESTS = 4
MAX_BATCH = 2
PAD_TOKEN_ID = 2
EOS_AT = 1  # the first request's token at this step (0-based) is the end-of-sequence token
EXTRA_STEPS = 2


def draw(rng, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    lengths = rng.integers(2, 9, REQUESTS)
    prompt_ids = llama_data.draw_ids(rng, fx, 1, int(lengths.sum()))[0]
    first = prompt_ids[:lengths[0]]
    eos = llama.greedy_alone(first, EOS_AT + 1, fx.weights, fx.config)[EOS_AT]
    arrive = np.sort(rng.integers(0, 4, REQUESTS))
    arrive[0] = 0
    cancelled = int(rng.integers(1, REQUESTS))
    cancel = np.full(REQUESTS, -1, dtype=np.int64)
    cancel[cancelled] = arrive[cancelled] + int(rng.integers(1, 4))
    return {"prompt_lengths": lengths.astype(np.int64), "prompt_ids": prompt_ids,
            "arrive": arrive.astype(np.int64), "max_tokens": rng.integers(3, 7, REQUESTS).astype(np.int64),
            "cancel": cancel, "eos": np.array(eos, dtype=np.int64)}


def plan_of(inputs) -> kit.Plan:
    prompts = np.split(inputs["prompt_ids"], np.cumsum(inputs["prompt_lengths"])[:-1])
    return kit.Plan([f"fresh-{i}" for i in range(REQUESTS)], [p.tolist() for p in prompts],
                    [int(t) for t in inputs["arrive"]], [int(n) for n in inputs["max_tokens"]],
                    {i: int(t) for i, t in enumerate(inputs["cancel"]) if t >= 0},
                    MAX_BATCH, PAD_TOKEN_ID, int(inputs["eos"]))


def alone(inputs, fx) -> list[list[int]]:
    plan = plan_of(inputs)
    return [llama.greedy_alone(p, n, fx.weights, fx.config, plan.eos)
            for p, n in zip(plan.prompts, plan.max_tokens)]


def run(learner, inputs):
    from checker.child.testkit import expect

    plan = plan_of(inputs)
    steps = plan.last_event() + sum(plan.max_tokens) + EXTRA_STEPS  # enough for any right order
    driven = kit.drive(learner, plan, steps)
    if driven is None:
        return None
    if driven.problem:
        expect(False, driven.problem)
        return None
    flat = [i for batch in driven.trace for i in sorted(batch)]
    rows = kit.tokens_of(driven, REQUESTS)
    return {"trace": np.array(flat, dtype=np.int64),
            "trace_lengths": np.array([len(b) for b in driven.trace], dtype=np.int64),
            "tokens": np.array([t for r in rows for t in r], dtype=np.int64),
            "token_lengths": np.array([len(r) for r in rows], dtype=np.int64)}


def judge(inputs, outputs, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    plan = plan_of(inputs)
    trace, sizes = outputs.get("trace"), outputs.get("trace_lengths")
    tokens, counts = outputs.get("tokens"), outputs.get("token_lengths")
    if trace is None or sizes is None or tokens is None or counts is None:
        return "no trace came back"
    if trace.dtype.kind not in "iu" or tokens.dtype.kind not in "iu" or int(sizes.sum()) != len(trace) \
            or counts.shape != (REQUESTS,) or int(counts.sum()) != len(tokens):
        return "the trace or the tokens came back malformed"
    got = [list(b) for b in np.split(trace, np.cumsum(sizes)[:-1])] if len(sizes) else []
    what = (f"your Scheduler on a fresh schedule (arrivals {inputs['arrive'].tolist()}, max_tokens "
            f"{inputs['max_tokens'].tolist()}, cancels {inputs['cancel'].tolist()}, {MAX_BATCH} slots)")
    problem = kit.trace_problem(plan, got, kit.natural_lengths(plan, alone(inputs, fx)))
    if problem:
        return f"{what}: {problem}"
    vocab = fx.values["vocab_size"]
    for i, (prompt, mine) in enumerate(zip(plan.prompts, np.split(tokens, np.cumsum(counts)[:-1]))):
        if ((mine < 0) | (mine >= vocab)).any():
            return f"{what}: request {i} holds token ids outside 0 .. {vocab - 1}"
        problem = llama.greedy_problem(prompt, mine, fx.weights, fx.config, LOGITS_ATOL)
        if problem:
            return f"{what}: request {i}'s {problem}"
    return None
