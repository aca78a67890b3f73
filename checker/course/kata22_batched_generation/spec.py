"""Kata 22's fresh inputs: a padded batch nobody has seen (three random prompts of three different
random lengths, left-padded by the checker, then two random tokens per row, one call each, with
one cache of the learner's), and generate_batch on three other random prompts with an
end-of-sequence token that stops the first row early. The parent judges every real token's logits
against the numpy Llama run on that row ALONE (no padding: a batch must not change a single logit)
and each generated row against the numpy Llama's greedy choice after the row's own prompt and the
learner's earlier tokens, with its stop."""

import numpy as np

from checker import diagnose
from checker.check import fresh
from checker.models import llama, llama_data

LOGITS_ATOL = 1e-3  # as the hidden tests
COLUMNS = 512  # vocabulary entries compared at every position (all 49152 would be MBs)
BATCH = 3
STEPS = 2  # single tokens per row after the prompt
MAX_NEW = 6  # generate_batch's max_new_tokens
PAD_TOKEN_ID = 2  # the tiny Llama's (checker/models/llama_golden.py TINY), as the hidden tests use
EOS_AT = 1  # the first generated row's token at this step (0-based) is the eos token


def _prompts(rng, fx, lengths) -> np.ndarray:
    """Prompts of the given lengths, packed as one row of ids (split by `lengths`)."""
    return llama_data.draw_ids(rng, fx, 1, int(sum(lengths)))[0]


def draw(rng, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    vocab = fx.values["vocab_size"]
    lengths = np.sort(rng.choice(np.arange(2, 11), BATCH, replace=False))[rng.permutation(BATCH)]
    gen_lengths = np.sort(rng.choice(np.arange(2, 9), BATCH, replace=False))[rng.permutation(BATCH)]
    gen_ids = _prompts(rng, fx, gen_lengths)
    first = np.split(gen_ids, np.cumsum(gen_lengths)[:-1])[0]
    # An eos token the first row reaches early (its own greedy choice), so the others go on alone.
    eos = llama.greedy_alone(first, EOS_AT + 1, fx.weights, fx.config)[EOS_AT]
    return {
        "lengths": lengths.astype(np.int64), "prompt_ids": _prompts(rng, fx, lengths),
        "next_ids": llama_data.draw_ids(rng, fx, BATCH, STEPS),
        "columns": np.sort(rng.choice(vocab, COLUMNS, replace=False)).astype(np.int64),
        "gen_lengths": gen_lengths.astype(np.int64), "gen_ids": gen_ids,
        "eos": np.array(eos, dtype=np.int64), "pad": np.array(PAD_TOKEN_ID),
    }


def split(ids: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    return np.split(ids, np.cumsum(lengths)[:-1])


def batch_of(inputs):
    """The padded batch the checker feeds: (input_ids, attention_mask, position_ids)."""
    ids, mask = llama.left_pad([p.tolist() for p in split(inputs["prompt_ids"], inputs["lengths"])],
                               int(inputs["pad"]))
    return ids, mask, llama.position_ids_from(mask)


def run(learner, inputs):
    from checker.child.testkit import expect

    from .kit import feeds, run_calls, run_generate

    ids, mask, positions = batch_of(inputs)
    order = feeds(ids, mask, positions, inputs["next_ids"])
    done = run_calls(learner, order)
    if done is None:
        return None
    rows = []
    for call in done:
        if call.logits is None:
            expect(False, call.problem)
            return None
        if call.logits.ndim != 3 or call.logits.shape[:2] != call.feed.ids.shape:
            expect(False, f"your model returned logits of shape {call.logits.shape} for ids of "
                          f"shape {call.feed.ids.shape}; expected (batch, new tokens, vocab_size).")
            return None
        rows.append(call.logits[..., inputs["columns"]])
    prompts = [p.tolist() for p in split(inputs["gen_ids"], inputs["gen_lengths"])]
    generated = run_generate(learner, prompts, MAX_NEW, int(inputs["pad"]), int(inputs["eos"]))
    if generated is None:
        return None
    if generated.rows is None:
        expect(False, generated.problem)
        return None
    flat = [t for row in generated.rows for t in row]
    return {"logits": np.concatenate(rows, axis=1).astype(np.float32, copy=False),
            "generated": np.array(flat, dtype=np.int64),
            "generated_lengths": np.array([len(r) for r in generated.rows], dtype=np.int64)}


def _describe(inputs) -> str:
    lengths = ", ".join(str(int(n)) for n in inputs["lengths"])
    return (f"your padded batch (prompts of {lengths} random tokens, left-padded, then {STEPS} "
            f"single tokens per row; {COLUMNS} vocabulary entries at every real token) against each "
            "row run alone")


def judge(inputs, outputs, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    got = outputs.get("logits")
    if got is None:
        return "no logits came back"
    problem = fresh.dtype_problem("logits", got, np.float32, "SmolLM2")
    if problem:
        return problem
    ids, mask, _ = batch_of(inputs)
    if got.shape != (BATCH, ids.shape[1] + STEPS, COLUMNS):
        return f"logits of shape {got.shape} came back; expected {(BATCH, ids.shape[1] + STEPS, COLUMNS)}"
    for row, prompt in enumerate(split(inputs["prompt_ids"], inputs["lengths"])):
        alone = np.concatenate([prompt, inputs["next_ids"][row]])[None]
        want = llama.logits(alone, fx.weights, fx.config)[0][:, inputs["columns"]]
        mine = got[row, ids.shape[1] - len(prompt):]  # the row's real tokens, padding left out
        problem = diagnose.compare(f"{_describe(inputs)}, row {row}", mine, want, atol=LOGITS_ATOL)
        if problem:
            return problem
    return judge_generated(inputs, outputs, fx)


def judge_generated(inputs, outputs, fx) -> str | None:
    """Each row's tokens: the argmax of the numpy Llama's logits after the row's prompt alone and
    its own earlier tokens (or within LOGITS_ATOL of it), stopping right after eos, or after
    MAX_NEW tokens."""
    flat, lengths = outputs.get("generated"), outputs.get("generated_lengths")
    what = f"generate_batch(model, 3 random prompts, {MAX_NEW}, eos_token_id={int(inputs['eos'])})"
    if flat is None or lengths is None or lengths.shape != (BATCH,) or flat.dtype.kind not in "iu" \
            or int(lengths.sum()) != flat.shape[0]:
        return f"{what} did not return {BATCH} rows of token ids"
    eos, vocab = int(inputs["eos"]), fx.values["vocab_size"]
    for row, (prompt, tokens) in enumerate(zip(split(inputs["gen_ids"], inputs["gen_lengths"]),
                                               split(flat, lengths))):
        if ((tokens < 0) | (tokens >= vocab)).any():
            return f"{what}: row {row} holds token ids outside 0 .. {vocab - 1}"
        stop = next((i + 1 for i, t in enumerate(tokens) if t == eos), MAX_NEW)
        if len(tokens) != stop:
            return (f"{what}: row {row} returned {len(tokens)} tokens; it should stop after its "
                    f"own end-of-sequence token or after {MAX_NEW}: {stop}")
        problem = llama.greedy_problem(prompt, tokens, fx.weights, fx.config, LOGITS_ATOL)
        if problem:
            return f"{what}: row {row}'s {problem}"
    return None
