"""Kata 19's fresh inputs: a cached run nobody has seen (two random prompts of a random length
as a batch of 2, one to three single tokens, a chunk of 2 to 4, one more token), and a greedy
generate from a random prompt. The parent judges the logits with the numpy Llama run on the whole
sequence at once (a cache must not change a single logit), and each generated token against the
numpy Llama's logits after the learner's own earlier tokens."""

import numpy as np

from checker import diagnose

from checker.check import fresh
from checker.models import llama, llama_data

LOGITS_ATOL = 1e-3  # as the hidden tests
COLUMNS = 512  # vocabulary entries compared at every position (all 49152 would be MBs)


def draw(rng, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    batch = 2  # the golden run is a batch of 1: here every check sees two sequences at once
    vocab = fx.values["vocab_size"]
    return {
        "prompt": llama_data.draw_ids(rng, fx, batch, int(rng.integers(2, 11))),
        "singles": llama_data.draw_ids(rng, fx, batch, int(rng.integers(1, 4))),
        "chunk": llama_data.draw_ids(rng, fx, batch, int(rng.integers(2, 5))),
        "last": llama_data.draw_ids(rng, fx, batch, 1),
        "columns": np.sort(rng.choice(vocab, COLUMNS, replace=False)).astype(np.int64),
        "greedy_prompt": llama_data.draw_ids(rng, fx, 1, int(rng.integers(2, 9))),
        "greedy_tokens": np.array(int(rng.integers(3, 7))),
    }


def calls(inputs) -> list[np.ndarray]:
    """The run's calls in order: the prompt, each single token, the chunk, the last token."""
    singles = inputs["singles"]
    return ([inputs["prompt"]] + [singles[:, i:i + 1] for i in range(singles.shape[1])]
            + [inputs["chunk"], inputs["last"]])


def run(learner, inputs):
    from checker.models.llama_kit import tiny_values
    from checker.child.testkit import expect

    from .kit import run_calls, run_generate

    order = calls(inputs)
    done = run_calls(learner, order, tiny_values()["num_hidden_layers"])
    if done is None:
        return None
    rows = []
    for call in done:
        if call.logits is None:
            expect(False, call.problem)
            return None
        if call.logits.ndim != 3 or call.logits.shape[:2] != call.ids.shape:
            expect(False, f"your model returned logits of shape {call.logits.shape} for ids of "
                          f"shape {call.ids.shape}; expected (batch, new tokens, vocab_size).")
            return None
        rows.append(call.logits[..., inputs["columns"]])
    wanted = int(inputs["greedy_tokens"])
    generated = run_generate(learner, inputs["greedy_prompt"][0].tolist(), wanted)
    if generated is None:
        return None
    if generated.tokens is None:
        expect(False, generated.problem)
        return None
    return {"logits": np.concatenate(rows, axis=1).astype(np.float32, copy=False),
            "greedy": np.array(generated.tokens, dtype=np.int64)}


def _describe(inputs) -> str:
    batch, prompt = inputs["prompt"].shape
    singles = inputs["singles"].shape[1]
    return (f"your cached run (batch of {batch}: a prompt of {prompt}, {singles} single "
            f"token{'s' if singles > 1 else ''}, a chunk of {inputs['chunk'].shape[1]}, one more; "
            f"{COLUMNS} vocabulary entries at every position)")


def judge(inputs, outputs, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    whole = np.concatenate(calls(inputs), axis=1)
    want = llama.logits(whole, fx.weights, fx.config)[..., inputs["columns"]]
    got = outputs.get("logits")
    if got is None:
        return "no logits came back"
    problem = (fresh.dtype_problem("logits", got, np.float32, "SmolLM2")
               or diagnose.compare(_describe(inputs), got, want, atol=LOGITS_ATOL))
    return problem or judge_greedy(inputs, outputs.get("greedy"), fx)


def judge_greedy(inputs, tokens, fx) -> str | None:
    """Each token is the argmax of the numpy Llama's logits after the prompt and the learner's own
    earlier tokens, or ties it within LOGITS_ATOL (float32 may pick either of two near-equal)."""
    wanted = int(inputs["greedy_tokens"])
    what = f"generate(model, a random prompt, {wanted})"
    if tokens is None or tokens.dtype.kind not in "iu" or tokens.shape != (wanted,):
        return f"{what} did not return {wanted} token ids"
    prompt = inputs["greedy_prompt"]
    vocab = fx.values["vocab_size"]
    if ((tokens < 0) | (tokens >= vocab)).any():
        return f"{what} returned token ids outside 0 .. {vocab - 1}"
    logits = llama.logits(np.concatenate([prompt, tokens[None, :]], axis=1), fx.weights, fx.config)[0]
    for step, token in enumerate(tokens):
        row = logits[prompt.shape[1] - 1 + step]
        diagnose.record_margin((row.max() - row[token]) / LOGITS_ATOL, diagnose.TIE)
        if row[token] < row.max() - LOGITS_ATOL:
            return (f"{what}: token {step + 1} is {int(token)}, but the most likely one there is "
                    f"{int(np.argmax(row))} (logit {row.max():.4f}; yours {row[token]:.4f})")
    return None
