"""Kata 22's child-side helpers: the learner's batched model called with a cache of their kata 19
KVCache, call after call (each call given Hugging Face's attention_mask and position_ids), and
their generate_batch watched through a stand-in model that records what each call was given
(shared by the hidden tests and the fresh-input spec); then what the hidden tests need to judge
and explain what generate_batch gave the model and the tokens it returned.

A call runs as one staged graph and, when staging fails, the whole sequence starts again from a
new cache, op by op: kata 19's kit (checker.course.kata19_kv_cache.kit), whose calling machinery
this kata, built on kata 19, reuses.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from checker.child.testkit import build, ids_tensor
from checker.models import llama
from checker.child.staging import call_model, staged_then_plain
from checker.course.kata19_kv_cache.kit import failure, logits_of, token_list

LOGITS_ATOL = 1e-3  # as katas 17 and 19: logits of size ~15 in float32; a correct model is within 1e-4


def model(learner):
    """Your BatchedLlamaForCausalLM with the tiny Llama's weights, once per check (None if that
    failed, said by the test that built it first)."""
    from checker.models.llama_kit import tiny_model

    return tiny_model(learner, "BatchedLlamaForCausalLM")


def new_cache(learner):
    """A new KVCache of yours (kata 19's, as your step_22.py imports it)."""
    cache_class = getattr(learner, "KVCache", None) or importlib.import_module("katas.step_19").KVCache
    return build("KVCache()", cache_class)


# ---- a teacher-forced run: the padded batch, then one token per row per call ------------------

@dataclass
class Feed:
    """One call's inputs: ids (batch, seq), attention_mask (batch, cached + seq), position_ids
    (batch, seq), all int64."""
    ids: np.ndarray
    attention_mask: np.ndarray
    position_ids: np.ndarray


@dataclass
class Call:
    feed: Feed
    logits: np.ndarray | None = None  # (batch, seq, vocab)
    problem: str | None = None  # why there are no logits


def feeds(input_ids: np.ndarray, attention_mask: np.ndarray, position_ids: np.ndarray,
          next_ids: np.ndarray) -> list[Feed]:
    """The padded prompt, then each column of next_ids (batch, steps) as one call, the mask
    growing by a column of ones and each row's position by one, as Hugging Face's generate does."""
    out = [Feed(input_ids, attention_mask, position_ids)]
    mask, positions = attention_mask, position_ids
    for step in range(next_ids.shape[1]):
        mask = np.concatenate([mask, np.ones((mask.shape[0], 1), dtype=np.int64)], axis=1)
        positions = positions[:, -1:] + 1
        out.append(Feed(next_ids[:, step:step + 1], mask, positions))
    return out


def describe_call(index: int, calls: list[Feed]) -> str:
    batch, seq = calls[index].ids.shape
    if index == 0:
        return (f"BatchedLlamaForCausalLM(input_ids, cache, attention_mask, position_ids) (the "
                f"prefill: {batch} left-padded prompts, {seq} columns, an empty cache)")
    cached = calls[index].attention_mask.shape[1] - seq
    return (f"BatchedLlamaForCausalLM(ids, cache, attention_mask, position_ids) (step {index + 1}: "
            f"1 new token per row, {cached} cached)")


def run_calls(learner, calls: list[Feed]) -> list[Call] | None:
    """Your model on each feed, in order, with one KVCache of yours and Hugging Face's keyword
    names (attention_mask=, position_ids=). Stops at the first call that fails; None when the
    model or the cache could not be made."""
    the_model = model(learner)
    if the_model is None:
        return None

    def run(plain: bool) -> list[Call] | None:
        cache = new_cache(learner)
        if cache is None:
            return None
        done: list[Call] = []
        for index, feed in enumerate(calls):
            call = Call(feed)
            done.append(call)
            what = describe_call(index, calls)
            try:
                value = call_model(the_model, plain, ids_tensor(feed.ids), cache,
                                   attention_mask=ids_tensor(feed.attention_mask),
                                   position_ids=ids_tensor(feed.position_ids))
            except Exception as exc:  # noqa: BLE001 - the learner's error is the message
                call.problem = failure(what, exc)
                return done
            call.logits, call.problem = logits_of(value, what)
            if call.logits is None:
                return done
        return done
    return staged_then_plain(run)


# ---- generate_batch, watched -------------------------------------------------------------------

@dataclass
class Seen:
    ids: np.ndarray | None  # what the call was given (None: not ids)
    cache: object
    attention_mask: np.ndarray | None
    position_ids: np.ndarray | None


def _numpy(value):
    if value is None:
        return None
    try:
        return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    except Exception:  # noqa: BLE001
        return None


class Recorder:
    """Stands in for the model in your generate_batch: calls your model (as one graph each) and
    records what each call was given. Anything else is your model's."""

    def __init__(self, model, plain: bool):
        self._model, self._plain, self.seen = model, plain, []

    def __call__(self, *args, **kwargs):
        given = dict(zip(("input_ids", "cache", "attention_mask", "position_ids"), args), **kwargs)
        self.seen.append(Seen(_numpy(given.get("input_ids")), given.get("cache"),
                              _numpy(given.get("attention_mask")), _numpy(given.get("position_ids"))))
        return call_model(self._model, self._plain, *args, **kwargs)

    forward = __call__

    def __getattr__(self, name):  # only for names the recorder lacks: the model's own
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._model, name)


@dataclass
class Generated:
    rows: list | None  # each row's new token ids, or None
    problem: str | None  # why there are none
    seen: list  # every call of the model


def run_generate(learner, prompts: list[list[int]], new_tokens: int, pad: int,
                 eos: int | None) -> Generated | None:
    """Your generate_batch(model, prompts, new_tokens, pad_token_id=pad, eos_token_id=eos) with
    your model, watched."""
    the_model = model(learner)
    if the_model is None:
        return None
    what = f"generate_batch(model, prompts, {new_tokens}, pad_token_id={pad}, eos_token_id={eos})"

    def run(plain: bool) -> Generated:
        recorder = Recorder(the_model, plain)
        try:
            value = learner.generate_batch(recorder, [list(p) for p in prompts], new_tokens,
                                           pad_token_id=pad, eos_token_id=eos)
        except Exception as exc:  # noqa: BLE001 - the learner's error is the message
            return Generated(None, failure(what, exc), recorder.seen)
        rows, problem = row_lists(value, len(prompts), what)
        return Generated(rows, problem, recorder.seen)
    return staged_then_plain(run)


def row_lists(value, batch: int, what: str) -> tuple[list | None, str | None]:
    """generate_batch's answer as a list of `batch` lists of ints, or None and what was wrong."""
    if isinstance(value, np.ndarray):
        value = list(value)
    if not isinstance(value, (list, tuple)) or len(value) != batch:
        got = f"{type(value).__name__}" + (f" of {len(value)}" if isinstance(value, (list, tuple)) else "")
        return None, (f"{what} returned {got}; expected a list of {batch} lists of token ids, one "
                      "per prompt, in the prompts' order.")
    rows = []
    for row, tokens in enumerate(value):
        tokens, problem = token_list(tokens, f"{what}: row {row}")
        if tokens is None:
            return None, problem
        rows.append(tokens)
    return rows, None


# ---- the hidden tests' side: what generate_batch gave the model and returned -------------------

# Named mistakes that both the arrays (left_pad, position_ids_from) and the calls show.
RIGHT_PADDING = (
    "the prompts are padded on the right (right padding): the padding goes after the short "
    "prompts. For generation it goes on the LEFT, so that every row's last column is its last "
    "real token, the one whose logits choose its next token, and the new tokens of all rows land "
    "in the same column.")
NOT_SHIFTED = (
    "positions are not shifted for padded rows (counted from the left edge, padding included): a "
    "padded row's first real token must be at position 0, as when the prompt runs alone. Count "
    "each row's positions from its own first real token: cumsum of the attention mask along the "
    "row, minus one.")


def right_padded(prompts, pad):
    """What left_pad gives when it pads on the right."""
    ids, mask = llama.left_pad([p[::-1] for p in prompts], pad)
    return ids[:, ::-1], mask[:, ::-1]


def calls_problem(seen: list, g, prompts: list) -> str | None:
    """What the model calls of a generate_batch on the golden prompts show (None: the right use)."""
    if not seen:
        return "your generate_batch never called the model."
    ids, mask = g["input_ids"], g["attention_mask"]
    batch = ids.shape[0]
    first = seen[0]
    if first.ids is None or first.ids.shape != ids.shape:
        shape = None if first.ids is None else first.ids.shape
        return (f"the first call gave the model ids of shape {shape}; expected every prompt at "
                f"once, left-padded: {ids.shape} (one call for the whole batch).")
    right_ids, _ = right_padded(prompts, int(g["pad_token_id"]))
    if np.array_equal(first.ids, right_ids):
        return "the first call's ids show what happens when " + RIGHT_PADDING
    if not np.array_equal(first.ids, ids):
        return f"the first call's ids are {first.ids.tolist()}; expected {ids.tolist()}."
    if first.cache is None:
        return ("the first call was given no cache. Make one KVCache() before the loop and pass it "
                "to every call.")
    if first.attention_mask is None or not np.array_equal(first.attention_mask, mask):
        given = None if first.attention_mask is None else first.attention_mask.tolist()
        return (f"the first call's attention_mask is {given}; expected {mask.tolist()} (1 on real "
                "tokens, 0 on padding).")
    problem = _positions_problem(first.position_ids, mask, 1)
    if problem:
        return problem
    for number, call in enumerate(seen[1:], start=2):
        if call.ids is None or call.ids.shape != (batch, 1):
            shape = None if call.ids is None else call.ids.shape
            return (f"call {number} gave the model ids of shape {shape}; after the prompts, each "
                    f"step gives every row's last token at once, ({batch}, 1): one call per step "
                    "for the whole batch, the cache holding the rest.")
        if call.cache is not first.cache:
            return (f"call {number} was given " + ("no cache" if call.cache is None else
                                                     "another cache object than the first call")
                    + ". Make the cache once, before the loop, and pass the same one every time.")
        columns = mask.shape[1] + number - 1
        if call.attention_mask is None or call.attention_mask.shape != (batch, columns) \
                or not (call.attention_mask[:, :mask.shape[1]] == mask).all():
            shape = None if call.attention_mask is None else call.attention_mask.shape
            return (f"call {number}'s attention_mask has shape {shape}; expected ({batch}, "
                    f"{columns}): the prompts' mask, then a column of ones for every step so far "
                    "(the mask covers every cached position).")
        grown = np.concatenate([mask, np.ones((batch, columns - mask.shape[1]), np.int64)], axis=1)
        problem = _positions_problem(call.position_ids, grown, number, _running(g, number - 1))
        if problem:
            return problem
    want = int(g["new_lengths"].max())
    if len(seen) > want:
        return (f"your generate_batch called the model {len(seen)} times for at most {want} new "
                "tokens per row: one call per step, and none after the last token is chosen.")
    return None


def _running(g, chosen: int) -> np.ndarray:
    """Which rows have not finished once `chosen` tokens are chosen (a finished row's positions
    and mask column are never read: any value passes)."""
    lengths, eos = g["new_lengths"], int(g["eos_token_id"])
    stopped = np.array([g["new_ids"][row, n - 1] == eos for row, n in enumerate(lengths)])
    return ~(stopped & (lengths <= chosen))


def _positions_problem(given, mask: np.ndarray, number: int, running=None) -> str | None:
    """The position ids of call `number` (whose mask is `mask`, all positions so far) against each
    running row's own count of real tokens."""
    new = 1 if number > 1 else mask.shape[1]
    want = llama.position_ids_from(mask)[:, -new:]
    real = mask[:, -new:] == 1
    if running is not None:
        real = real & running[:, None]
    if given is None or given.shape != want.shape:
        shape = None if given is None else given.shape
        return (f"call {number}'s position_ids have shape {shape}; expected {want.shape}, the new "
                "tokens' positions in their own rows.")
    if (given[real] == want[real]).all():
        return None
    unshifted = np.broadcast_to(np.arange(mask.shape[1])[-new:], want.shape)
    if (given[real] == unshifted[real]).all():
        return f"call {number}'s position_ids are {given.tolist()}: this is what happens when " + NOT_SHIFTED
    return (f"call {number}'s position_ids are {given.tolist()}; expected {want.tolist()} at the "
            "real tokens: each row's positions counted from its own first real token.")


def tokens_problem(rows: list, want: list, eos: int) -> str | None:
    """What differs between each row's tokens and the row alone's (None: nothing)."""
    ends = {row: len(w) for row, w in enumerate(want) if w and w[-1] == eos}  # rows that stop early
    for row, (mine, theirs) in enumerate(zip(rows, want)):
        if mine == theirs:
            continue
        others = sorted(n for r, n in ends.items() if r != row)
        if len(mine) < len(theirs) and mine == theirs[:len(mine)] and len(mine) in others:
            return (f"row {row} returned {len(mine)} tokens and stopped when another row chose the "
                    f"end-of-sequence token; alone it gives {len(theirs)}: {theirs}. A finished row "
                    "stopped the batch: only that row stops (keep feeding it padding, read none of "
                    "its logits); the loop ends when every row has finished.")
        first = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), None)
        if first is not None and any(first >= n for n in others) and mine[:first] == theirs[:first]:
            return (f"row {row}'s token {first + 1} is {mine[first]}; alone it is {theirs[first]}, "
                    f"and every earlier one matched until another row finished (after "
                    f"{min(others)} tokens). A finished row corrupts its neighbours: once a row has "
                    "stopped, the other rows must compute exactly what they would alone (feed the "
                    "finished row padding, keep the mask's new column 1 for the rows still running).")
        if len(mine) > len(theirs) and mine[:len(theirs)] == theirs and theirs[-1] == eos:
            return (f"row {row} went on after its end-of-sequence token {eos}: {mine}. Stop each row "
                    f"right after it chooses {eos} (the last token of its list).")
        if first is None:
            return f"row {row} returned {len(mine)} tokens; expected {len(theirs)}: {theirs}."
        return (f"row {row}'s token {first + 1} is {mine[first]}; Hugging Face's (the batch's and "
                f"the row alone's) is {theirs[first]}. The lines above say whether your model, or "
                "what your generate_batch gives it, differs.")
    return None
