"""Kata 19's child-side helpers, shared by its hidden tests and its fresh-input spec: the learner's
model called with the learner's cache, call after call, and their generate watched through a
stand-in model that records what each call was given.

A cache lives across calls, so a call must never run twice: checker.child.staging.batched re-runs a call
op by op when staging it fails, which would append to the cache twice. Here a staged call that
fails stops the whole sequence, which then starts again from a new cache, op by op (plain
eager MAX, the learner's own errors and all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from checker.child.testkit import build, ids_tensor, once, root


class Unstaged(BaseException):
    """A staged call failed: the sequence starts again, op by op. A BaseException, so that a
    learner's `except Exception` in generate does not swallow it."""


def _staged(call):
    from max.experimental.realization_context import EagerRealizationContext, realization_context

    from checker.child.compiles import staged_executor

    try:
        with EagerRealizationContext(staged_executor()) as context, realization_context(context):
            return call()
    except Exception:  # noqa: BLE001 - the op-by-op run gives the learner's own error
        raise Unstaged from None


def call_model(model, plain: bool, *args, **kwargs):
    """model(*args, **kwargs), as one graph unless `plain`."""
    if plain:
        return model(*args, **kwargs)
    return _staged(lambda: model(*args, **kwargs))


def failure(what: str, exc: BaseException) -> str:
    from checker.child.learner_import import describe_exception, kata_files

    return f"{what} raised " + describe_exception(exc, kata_files(), root())


def logits_of(value, what: str) -> tuple[np.ndarray | None, str | None]:
    """The learner's logits as float32 numpy, or None and what was wrong (nothing recorded)."""
    from max.dtype import DType
    from max.experimental.tensor import Tensor

    if value is None:
        return None, f"{what} returned None. Did you forget a `return` statement?"
    if not isinstance(value, Tensor):
        return None, f"{what} returned a {type(value).__name__}; return the logits as a MAX Tensor."
    if value.dtype != DType.float32:
        return None, f"{what} returned {value.dtype.name} logits; keep the model in float32."
    try:
        return value.to_numpy(), None
    except Exception as exc:  # noqa: BLE001 - realizing learner graphs can fail any way
        return None, f"{what}: computing your tensor failed: {type(exc).__name__}: {exc}"


def model(learner):
    """Your CachedLlamaForCausalLM with the tiny Llama's weights, once per check (None if that
    failed, said by the test that built it first)."""
    from checker.models.llama_kit import llama_module, tiny_config

    config = tiny_config()
    return once("model", lambda: llama_module("CachedLlamaForCausalLM(config)",
                                              lambda: learner.CachedLlamaForCausalLM(config), ""))


def new_cache(learner):
    return build("KVCache()", learner.KVCache)


# ---- a teacher-forced run: the model called once per chunk of ids, with one cache ----------------

@dataclass
class Call:
    ids: np.ndarray  # (batch, seq) fed in this call
    logits: np.ndarray | None = None  # (batch, seq, vocab)
    problem: str | None = None  # why there are no logits
    lengths: list = field(default_factory=list)  # get_seq_length(layer) for every layer, after


def describe_call(index: int, calls: list[np.ndarray]) -> str:
    cached = sum(c.shape[1] for c in calls[:index])
    batch, seq = calls[index].shape
    of = "" if batch == 1 else f", a batch of {batch}"
    if index == 0:
        return f"CachedLlamaForCausalLM(prompt, cache) (prefill: {seq} tokens, empty cache{of})"
    new = "1 new token" if seq == 1 else f"{seq} new tokens"
    return f"CachedLlamaForCausalLM(ids, cache) (call {index + 1}: {new}, {cached} cached{of})"


def run_calls(learner, calls: list[np.ndarray], layers: int) -> list[Call] | None:
    """Your model on each entry of `calls`, in order, with one KVCache of yours. Stops at the
    first call that fails; None when the model or the cache could not be made."""
    the_model = model(learner)
    if the_model is None:
        return None
    for plain in (False, True):
        cache = new_cache(learner)
        if cache is None:
            return None
        done: list[Call] = []
        try:
            for index, ids in enumerate(calls):
                what = describe_call(index, calls)
                call = Call(ids)
                done.append(call)
                try:
                    value = call_model(the_model, plain, ids_tensor(ids), cache)
                except Unstaged:
                    raise
                except Exception as exc:  # noqa: BLE001 - the learner's error is the message
                    call.problem = failure(what, exc)
                    return done
                call.logits, call.problem = logits_of(value, what)
                if call.logits is None:
                    return done
                call.lengths = [_length(cache, layer) for layer in range(layers)]
            return done
        except Unstaged:
            continue
    return None


def _length(cache, layer: int):
    try:
        return int(cache.get_seq_length(layer))
    except Exception as exc:  # noqa: BLE001
        return f"get_seq_length({layer}) raised {type(exc).__name__}: {exc}"


# ---- generate, watched ---------------------------------------------------------------------

@dataclass
class Seen:
    shape: tuple  # the ids' shape
    cache: object  # the cache object given (None: none)
    last: np.ndarray | None = None  # the last position's logits the model returned


class Recorder:
    """Stands in for the model in your generate: calls your model (as one graph each) and
    records what each call was given. Anything else is your model's."""

    def __init__(self, model, plain: bool):
        self._model, self._plain, self.seen = model, plain, []

    def __call__(self, *args, **kwargs):
        ids = args[0] if args else kwargs.get("input_ids")
        cache = args[1] if len(args) > 1 else kwargs.get("cache")
        seen = Seen(_shape(ids), cache)
        self.seen.append(seen)
        out = call_model(self._model, self._plain, *args, **kwargs)
        try:
            seen.last = out.to_numpy()[0, -1]
        except Exception:  # noqa: BLE001 - the learner's generate meets it on its own
            pass
        return out

    forward = __call__

    def __getattr__(self, name):  # only for names the recorder lacks: the model's own
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._model, name)


def _shape(ids) -> tuple:
    try:
        return tuple(int(d) for d in ids.shape)
    except Exception:  # noqa: BLE001
        return ()


@dataclass
class Generated:
    tokens: list | None  # the new token ids, or None
    problem: str | None  # why there are none
    seen: list  # every call of the model


def run_generate(learner, prompt: list[int], new_tokens: int, eos: int | None = None) -> Generated | None:
    """Your generate(model, prompt, new_tokens, eos_token_id=eos) with your model, watched."""
    the_model = model(learner)
    if the_model is None:
        return None
    what = f"generate(model, prompt, {new_tokens}" + (f", eos_token_id={eos})" if eos is not None else ")")
    for plain in (False, True):
        recorder = Recorder(the_model, plain)
        try:
            value = learner.generate(recorder, list(prompt), new_tokens, eos_token_id=eos)
        except Unstaged:
            continue
        except Exception as exc:  # noqa: BLE001 - the learner's error is the message
            return Generated(None, failure(what, exc), recorder.seen)
        tokens, problem = token_list(value, what)
        return Generated(tokens, problem, recorder.seen)
    return None


def token_list(value, what: str) -> tuple[list | None, str | None]:
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        value = value.reshape(-1).tolist()
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in value):
        return None, (f"{what} returned {type(value).__name__}"
                      + (f" of {type(value[0]).__name__}" if isinstance(value, (list, tuple)) and value else "")
                      + "; return the new token ids as a list of ints.")
    return [int(t) for t in value], None
