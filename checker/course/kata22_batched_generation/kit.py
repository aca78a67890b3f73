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

from checker.child.testkit import build, ids_tensor, once
from checker.course.kata19_kv_cache.kit import Unstaged, call_model, failure, logits_of, token_list

LOGITS_ATOL = 1e-3  # as katas 17 and 19: logits of size ~15 in float32; a correct model is within 1e-4


def model(learner):
    """Your BatchedLlamaForCausalLM with the tiny Llama's weights, once per check (None if that
    failed, said by the test that built it first)."""
    from checker.models.llama_kit import llama_module, tiny_config

    config = tiny_config()
    return once("model", lambda: llama_module("BatchedLlamaForCausalLM(config)",
                                              lambda: learner.BatchedLlamaForCausalLM(config), ""))


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
    for plain in (False, True):
        cache = new_cache(learner)
        if cache is None:
            return None
        done: list[Call] = []
        try:
            for index, feed in enumerate(calls):
                call = Call(feed)
                done.append(call)
                what = describe_call(index, calls)
                try:
                    value = call_model(the_model, plain, ids_tensor(feed.ids), cache,
                                       attention_mask=ids_tensor(feed.attention_mask),
                                       position_ids=ids_tensor(feed.position_ids))
                except Unstaged:
                    raise
                except Exception as exc:  # noqa: BLE001 - the learner's error is the message
                    call.problem = failure(what, exc)
                    return done
                call.logits, call.problem = logits_of(value, what)
                if call.logits is None:
                    return done
            return done
        except Unstaged:
            continue
    return None


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
    for plain in (False, True):
        recorder = Recorder(the_model, plain)
        try:
            value = learner.generate_batch(recorder, [list(p) for p in prompts], new_tokens,
                                           pad_token_id=pad, eos_token_id=eos)
        except Unstaged:
            continue
        except Exception as exc:  # noqa: BLE001 - the learner's error is the message
            return Generated(None, failure(what, exc), recorder.seen)
        rows, problem = row_lists(value, len(prompts), what)
        return Generated(rows, problem, recorder.seen)
    return None


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
