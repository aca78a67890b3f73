"""Kata 22: left_pad, position_ids_from, BatchedLlamaForCausalLM and generate_batch against Hugging
Face's LlamaForCausalLM and its `generate` on the same left-padded batch of three prompts of
different lengths (the tiny Llama): the padding and the positions, the logits of the padded prompt
at every real position and of every step of generation (against the batch and against each prompt
run alone), what generate_batch gives the model at each call (one call per step for the whole
batch), and every row's greedy tokens, one row stopping at its own end-of-sequence token while the
others go on. Named mistakes of the model are what the numpy Llama computes with each one
(checker/models/llama.py, BATCH_MISTAKES); those of generate_batch are read from what it gave the
model and returned."""

import numpy as np

from checker.child.testkit import FAILED, attempt, expect, expect_close, fixture, note, once
from checker.models import llama
from checker.models.llama_kit import weights64

from . import kit


# ---- the golden data: Hugging Face's padded batch, its generate, each prompt alone ---------------

def _golden():
    return fixture("golden/step_22.npz")


def _config():
    return llama.Config.of(fixture("llama_config.json"))


def _prompts() -> list[list[int]]:
    g = _golden()
    return [p.tolist() for p in np.split(g["prompt_ids"], np.cumsum(g["prompt_lengths"])[:-1])]


def _feeds() -> list:
    """The prefill, then Hugging Face's generated tokens fed back one step at a time (a finished
    row fed pad_token_id, as generate feeds it), for every step but the last."""
    g = _golden()
    return kit.feeds(g["input_ids"], g["attention_mask"], g["position_ids"], g["new_ids"][:, :-1])


def _run(learner):
    """Your model on the golden feeds, one cache of yours, once per check."""
    return once("run", lambda: kit.run_calls(learner, _feeds()))


def _generated(learner):
    g = _golden()
    return once("generate", lambda: kit.run_generate(
        learner, _prompts(), g["new_ids"].shape[1], int(g["pad_token_id"]), int(g["eos_token_id"])))


# ---- named mistakes: what each computes ----------------------------------------------------------

# Right padding and unshifted positions are named by the arrays (left_pad, position_ids_from) and
# by what generate_batch gives the model (kit.calls_problem): their words live in kit.py.

PAD_KEYS = (
    "pad keys are attended: the real tokens attend to the padding. Hide every key whose "
    "attention_mask is 0 from every query, in every call (the mask covers the cached positions "
    "too). A mask built for the longest row only (it has no padding) and used for every row does "
    "the same.")
NAN_ROWS = (
    "A padded position's query has no key it may see (every earlier key is padding): with -inf "
    "everywhere, softmax gives NaN there, NaN keys and values come out of that position in the "
    "next layer, and 0 x NaN = NaN reaches the real tokens. Hide pad keys with a large finite "
    "negative number (e.g. np.finfo(np.float32).min) instead of -inf.")

# A mistake of the model (a flag of the numpy Llama's padded_logits) -> what the check says.
ADVICE = {"batch_pad_keys_attended": PAD_KEYS, "batch_mask_longest_row": PAD_KEYS}


def _mistaken(ids: np.ndarray, mask: np.ndarray) -> dict:
    """advice -> the logits (batch, T, vocab) of the padded sequence when the model commits it."""
    return {ADVICE[flag]: llama.padded_logits(ids, mask, weights64(), _config(), **{flag: True})
            for flag in ADVICE}


# ---- the padding and the positions ---------------------------------------------------------------

def test_left_pad(learner):
    """Three prompts of 7, 13 and 2 tokens -> (input_ids, attention_mask) of shape (3, 13)."""
    g = _golden()
    pad = int(g["pad_token_id"])
    got = attempt(f"left_pad(prompts, pad_token_id={pad})", lambda: learner.left_pad(_prompts(), pad))
    if got is FAILED:
        return
    what = f"left_pad(three prompts of {', '.join(str(len(p)) for p in _prompts())} tokens, {pad})"
    if not expect(isinstance(got, (tuple, list)) and len(got) == 2,
                  f"{what} returned {type(got).__name__}; expected (input_ids, attention_mask)."):
        return
    right_ids, right_mask = kit.right_padded(_prompts(), pad)
    for name, value, want, right in (("input_ids", got[0], g["input_ids"], right_ids),
                                     ("attention_mask", got[1], g["attention_mask"], right_mask)):
        value = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
        if not expect(value.shape == want.shape, f"{what}: {name} of shape {value.shape}; expected "
                                                 f"{want.shape} (batch, longest prompt)."):
            return
        if not expect_close(f"{what}: {name}", value, want, atol=0, rtol=0,
                            mistakes={kit.RIGHT_PADDING: right}):
            return


def test_position_ids(learner):
    """The padded prompts' mask, and the same mask three steps later (three columns of ones):
    each row's positions from its own first real token, compared at its real tokens."""
    g = _golden()
    mask = g["attention_mask"]
    for step, grown in ((0, mask), (3, np.concatenate([mask, np.ones((3, 3), np.int64)], axis=1))):
        what = f"position_ids_from(attention_mask of shape {grown.shape})"
        got = attempt(what, lambda grown=grown: learner.position_ids_from(grown.copy()))
        if got is FAILED:
            return
        got = np.asarray(got.to_numpy() if hasattr(got, "to_numpy") else got)
        if not expect(got.shape == grown.shape, f"{what} returned shape {got.shape}; expected "
                                                f"{grown.shape}."):
            return
        real = grown == 1
        want = llama.position_ids_from(grown)
        unshifted = np.broadcast_to(np.arange(grown.shape[1]), grown.shape)
        shown = np.where(real, got, want)  # padding's positions are never read: any value passes
        if not expect_close(f"{what}, at the real tokens", shown, want, atol=0, rtol=0,
                            mistakes={kit.NOT_SHIFTED: np.where(real, unshifted, want)}):
            return


# ---- the model on the padded batch, call by call -----------------------------------------------

def test_parameter_names(learner):
    """Kata 17's names, unchanged: the tiny Llama's weights load (a mismatch is said by name)."""
    kit.model(learner)


def _compare(what, logits, top_ids, want, alone, real, mistakes) -> bool:
    """The logits of Hugging Face's 20 most likely tokens at each real (row, position) against
    its padded batch and against each prompt run alone, naming a mistake the numbers match."""
    mine = np.take_along_axis(logits, top_ids, axis=-1)
    nan = np.isnan(mine).any()
    if not expect_close(f"{what}: the logits of Hugging Face's 20 most likely tokens at every real "
                        "token", np.where(real[..., None], mine, 0), np.where(real[..., None], want, 0),
                        atol=kit.LOGITS_ATOL,
                        mistakes={advice: np.where(real[..., None], np.take_along_axis(m, top_ids, axis=-1), 0)
                                  for advice, m in mistakes.items()}):
        if nan:
            expect(False, NAN_ROWS)
        return False
    return expect_close(f"{what}: the same logits against each prompt run alone (no padding)",
                        np.where(real[..., None], mine, 0), alone, atol=kit.LOGITS_ATOL)


def test_prefill(learner):
    """The three left-padded prompts (3, 13) in one call with a new cache: the logits at every real
    position, against Hugging Face's batch and each prompt alone; every row's last position in
    full."""
    g = _golden()
    done = _run(learner)
    if done is None:
        return
    call = done[0]
    if call.logits is None:
        expect(False, call.problem)
        return
    what = kit.describe_call(0, _feeds())
    vocab = g["prefill_last_logits"].shape[-1]
    want_shape = g["input_ids"].shape + (vocab,)
    if not expect(call.logits.shape == want_shape, f"{what} returned shape {call.logits.shape}; "
                                                   f"expected {want_shape}."):
        return
    real = g["attention_mask"] == 1
    if _compare(what, call.logits, g["prefill_top_ids"], g["prefill_top_logits"],
                g["alone_prefill_top_logits"], real, _mistaken(g["input_ids"], g["attention_mask"])):
        expect_close(f"{what}: every row's last position's logits", call.logits[:, -1],
                     g["prefill_last_logits"], atol=kit.LOGITS_ATOL)


def test_decode_steps(learner):
    """Hugging Face's generated tokens fed back one step at a time with the same cache (a finished
    row fed padding): each step's logits of every row still running, against Hugging Face's
    generate and each prompt alone."""
    g = _golden()
    done = _run(learner)
    if done is None:
        return
    feeds = _feeds()
    whole = np.concatenate([g["input_ids"], g["new_ids"]], axis=1)
    grown = np.concatenate([g["attention_mask"], np.ones_like(g["new_ids"])], axis=1)
    prompt = g["input_ids"].shape[1]
    wrong = {advice: m[:, prompt - 1:] for advice, m in _mistaken(whole, grown).items()}
    for index in range(1, len(feeds)):
        what = kit.describe_call(index, feeds)
        if index >= len(done):
            expect(False, f"{what} was not reached: an earlier call failed. "
                          f"{(done[-1].problem or '').splitlines()[0] if done[-1].problem else ''}")
            return
        call = done[index]
        if call.logits is None:
            expect(False, call.problem)
            return
        want_shape = (g["input_ids"].shape[0], 1, g["prefill_last_logits"].shape[-1])
        if not expect(call.logits.shape == want_shape, f"{what} returned shape "
                                                       f"{call.logits.shape}; expected {want_shape}."):
            return
        running = (index < g["new_lengths"])[:, None]  # the rows that have not finished
        step = slice(index, index + 1)
        if not _compare(what, call.logits, g["step_top_ids"][:, step], g["step_top_logits"][:, step],
                        g["alone_step_top_logits"][:, step], running,
                        {advice: m[:, step] for advice, m in wrong.items()}):
            return


# ---- generate_batch ------------------------------------------------------------------------------

def test_one_forward_per_step(learner):
    """Seen from the model: the left-padded prompts in one call with a new cache, its
    attention_mask and each row's positions; then one call per step for the whole batch, (3, 1)
    ids, the same cache, the mask one column longer and every position one further."""
    g = _golden()
    result = _generated(learner)
    if result is None:
        return
    problem = kit.calls_problem(result.seen, g, _prompts())
    expect(problem is None, f"generate_batch(model, prompts, {g['new_ids'].shape[1]}, ...): {problem}")
    if result.problem:
        expect(False, result.problem)


def test_greedy_tokens(learner):
    """Every row's greedy tokens equal Hugging Face's generate on the batch and the row alone, the
    short row stopping after the end-of-sequence token while the other two go on."""
    g = _golden()
    result = _generated(learner)
    if result is None:
        return
    if result.rows is None:
        expect(False, result.problem)
        return
    want = [g["new_ids"][row, :n].tolist() for row, n in enumerate(g["new_lengths"])]
    problem = kit.tokens_problem(result.rows, want, int(g["eos_token_id"]))
    if expect(problem is None, f"generate_batch(model, prompts, {g['new_ids'].shape[1]}, "
                               f"pad_token_id={int(g['pad_token_id'])}, eos_token_id="
                               f"{int(g['eos_token_id'])}): {problem}"):
        note(f"greedy tokens: {result.rows}")
