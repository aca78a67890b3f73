"""Kata 19's child-side helpers: the learner's model called with the learner's cache, call after
call, and their generate watched through a stand-in model that records what each call was given
(shared by its hidden tests and its fresh-input spec); then what the hidden tests need to judge
and explain each call, each update of the cache and each generated token, so that test_kata.py
reads as golden data, named mistakes and tests.

A cache lives across calls, so a call must never run twice: checker.child.staging.batched re-runs a call
op by op when staging it fails, which would append to the cache twice. Here a staged call that
fails stops the whole sequence, which then starts again from a new cache, op by op (plain
eager MAX, the learner's own errors and all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from checker import diagnose
from checker.child.staging import call_model, staged_then_plain
from checker.child.testkit import (FAILED, attempt, build, expect, expect_close, ids_tensor,
                                   root, run, tensor)

LOGITS_ATOL = 1e-3  # as kata 17: logits of size ~15 in float32; a correct model is within 1e-4
KEYS_ATOL = 1e-4  # cached keys and values up to ~5 in float32 (the reference: within 1e-6 + 1e-4 * |expected|)
KV_SHAPE = (1, 2, 16)  # (batch, kv_heads, head_dim) of the tiny Llama's keys


# Where MAX advises "an explicit rebind" (two sizes that do not broadcast), kata 19's likely cause.
REBIND_MEANS = ("(MAX's advice to insert a rebind does not apply: these sizes really differ. With a "
                "cache, a call's scores are (new tokens, cached + new tokens): whatever is added to "
                "them, the causal mask first, must have that shape: causal_mask(seq, start).)")


def failure(what: str, exc: BaseException) -> str:
    from checker.child.learner_import import describe_exception, kata_files

    return f"{what} raised " + describe_exception(exc, kata_files(), root(), rebind_means=REBIND_MEANS)


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
    from checker.models.llama_kit import tiny_model

    return tiny_model(learner, "CachedLlamaForCausalLM")


def new_cache(learner):
    return build("KVCache()", learner.KVCache)


# ---- a teacher-forced run: the model called once per chunk of ids, with one cache ----------------

@dataclass
class Call:
    ids: np.ndarray  # (batch, seq) fed in this call
    logits: np.ndarray | None = None  # (batch, seq, vocab)
    problem: str | None = None  # why there are no logits
    lengths: list = field(default_factory=list)  # get_seq_length(layer) for every layer, after
    updates: list = field(default_factory=list)  # the model's cache.update calls (Update), in order


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

    def run(plain: bool) -> list[Call] | None:
        cache = new_cache(learner)
        if cache is None:
            return None
        done: list[Call] = []
        watched = Watched(cache)
        for index, ids in enumerate(calls):
            what = describe_call(index, calls)
            call = Call(ids)
            done.append(call)
            try:
                value = call_model(the_model, plain, ids_tensor(ids), watched)
            except Exception as exc:  # noqa: BLE001 - the learner's error is the message
                call.problem = failure(what, exc)
                return done
            finally:
                call.updates = watched.take()
            call.logits, call.problem = logits_of(value, what)
            if call.logits is None:
                return done
            call.lengths = [_length(cache, layer) for layer in range(layers)]
        return done
    return staged_then_plain(run)


def _length(cache, layer: int):
    try:
        return int(cache.get_seq_length(layer))
    except Exception as exc:  # noqa: BLE001
        return f"get_seq_length({layer}) raised {type(exc).__name__}: {exc}"


# ---- what the cache is given and holds, watched ----------------------------------------------

@dataclass
class Update:
    layer: object  # the layer_idx the model gave
    shape: tuple  # the shape of the key_states the model gave
    out: object  # what your update returned: all of that layer's (keys, values) so far (None:
                 # it raised)


class Watched:
    """Stands in for your cache in your model's calls: passes every call on to your cache and
    records what each update was given and returned. Anything else is your cache's. Only
    update and get_seq_length are read: your cache is not opened."""

    def __init__(self, cache):
        object.__setattr__(self, "_cache", cache)
        object.__setattr__(self, "_updates", [])

    def update(self, *args, **kwargs):
        given = dict(zip(("key_states", "value_states", "layer_idx"), args), **kwargs)
        update = Update(given.get("layer_idx"), _shape(given.get("key_states")), None)
        self._updates.append(update)  # before the call: an update that raises is seen too
        update.out = self._cache.update(*args, **kwargs)
        return update.out

    def get_seq_length(self, *args, **kwargs):
        return self._cache.get_seq_length(*args, **kwargs)

    def take(self) -> list:
        """The updates recorded since the last take()."""
        taken = list(self._updates)
        self._updates.clear()
        return taken

    def __getattr__(self, name):  # only for names the stand-in lacks: your cache's own
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._cache, name)

    def __setattr__(self, name, value):
        setattr(self._cache, name, value)

    def __bool__(self):
        return bool(self._cache)


def held(updates: list, layer: int):
    """What layer `layer` holds after a call, as its last update returned it (None: no update)."""
    mine = [u for u in updates if _as_int(u.layer) == layer]
    return mine[-1] if mine else None


def run_filled(learner, keys: np.ndarray, values: np.ndarray, ids: np.ndarray, what: str):
    """A new KVCache of yours filled through update with `keys` and `values` (layer, batch,
    kv_heads, positions, head_dim), layer by layer, then your model on `ids` with it: (logits or
    None, the problem, the updates your model made). None when nothing could run (said)."""
    the_model = model(learner)
    if the_model is None:
        return None

    def run(plain: bool):
        cache = new_cache(learner)
        if cache is None:
            return None
        for layer in range(keys.shape[0]):
            step = f"{what}: filling it, update(keys, values, {layer})"
            if cache_update(cache, keys[layer], values[layer], layer, step) is None:
                return None
        watched = Watched(cache)
        try:
            value = call_model(the_model, plain, ids_tensor(ids), watched)
        except Exception as exc:  # noqa: BLE001 - the learner's error is the message
            return None, failure(what, exc), watched.take()
        logits, problem = logits_of(value, what)
        return logits, problem, watched.take()
    return staged_then_plain(run)


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

    def run(plain: bool) -> Generated:
        recorder = Recorder(the_model, plain)
        try:
            value = learner.generate(recorder, list(prompt), new_tokens, eos_token_id=eos)
        except Exception as exc:  # noqa: BLE001 - the learner's error is the message
            return Generated(None, failure(what, exc), recorder.seen)
        tokens, problem = token_list(value, what)
        return Generated(tokens, problem, recorder.seen)
    return staged_then_plain(run)


def token_list(value, what: str) -> tuple[list | None, str | None]:
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        value = value.reshape(-1).tolist()
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in value):
        return None, (f"{what} returned {type(value).__name__}"
                      + (f" of {type(value[0]).__name__}" if isinstance(value, (list, tuple)) and value else "")
                      + "; return the new token ids as a list of ints.")
    return [int(t) for t in value], None


# ---- the hidden tests' side: the golden run's calls, each call judged and explained ------------

def calls_of(g) -> list[np.ndarray]:
    """The golden teacher-forced run's calls: (1, seq) ids each, the prompt first."""
    ids, bounds = g["ids"], np.cumsum(g["calls"])
    return [ids[:, a:b] for a, b in zip([0, *bounds[:-1]], bounds)]


def starts_of(g) -> list[int]:
    """The number of positions cached before each call of the golden run."""
    return [0, *np.cumsum(g["calls"])[:-1].tolist()]


def top(logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.take_along_axis(logits, ids, axis=-1)


def _lengths_problem(call: Call, before: int, after: str) -> str | None:
    expected = before + call.ids.shape[1]
    for layer, length in enumerate(call.lengths):
        if isinstance(length, str):
            return f"After {after}, {length}."
        if length != expected:
            kept = (" The cache did not keep this call's keys and values: update must store the "
                    "longer tensors (self.keys[layer_idx] = F.concat(...)), not only return them."
                    if length == before else "")
            return (f"After {after}, your cache's get_seq_length({layer}) is {length}; expected "
                    f"{expected}: every layer holds the keys and values of all {expected} "
                    f"positions so far.{kept}")
    return None


def check_call(g, calls: list, index: int, done: list, mistaken_runs) -> bool:
    """Call `index` of the run against Hugging Face's logits, naming a mistake it matches
    (mistaken_runs() -> advice -> each call's logits, or None, when the run commits it)."""
    what = describe_call(index, calls_of(g))
    if index >= len(done):
        failed = len(done) - 1
        first_line = next(iter((done[failed].problem or "").splitlines()), "")
        return expect(False, f"{what} was not reached: call {failed + 1} failed first. {first_line}")
    call = done[index]
    if call.logits is None:
        return expect(False, call.problem)
    seq = call.ids.shape[1]
    vocab = g["last_logits"].shape[0]
    if not expect(call.logits.shape == (1, seq, vocab),
                  f"{what} returned shape {call.logits.shape}; expected (batch, new tokens, "
                  f"vocab_size) = {(1, seq, vocab)}: logits for the new tokens only."):
        return False
    start = starts_of(g)[index]
    rows = slice(start, start + seq)
    top_ids = g["top_ids"][rows]
    mistakes = {advice: top(run_logits[index][0], top_ids)
                for advice, run_logits in mistaken_runs().items() if run_logits[index] is not None}
    ok = expect_close(f"{what}: the logits of Hugging Face's 20 most likely tokens at each new "
                      "position", top(call.logits[0], top_ids), g["top_logits"][rows],
                      atol=LOGITS_ATOL, mistakes=mistakes)
    if index == len(calls) - 1:
        ok = expect_close(f"{what}: the last position's logits", call.logits[0, -1],
                          g["last_logits"], atol=LOGITS_ATOL) and ok
    problem = _lengths_problem(call, start, f"call {index + 1}")
    return expect(problem is None, problem or "") and ok


def no_offset_hint(index: int, calls: list) -> str:
    """A chunk that raised after every one-token call matched: what a mask without the offset
    does (causal_mask(seq, 0) is (seq, seq); the scores are (seq, cached + seq))."""
    seq, cached = calls[index].shape[1], sum(c.shape[1] for c in calls[:index])
    return (f"\nYour model ran one new token at a time and failed on {seq} at once with {cached} "
            f"cached. That is what a causal mask without the offset does: causal_mask({seq}, 0) is "
            f"({seq}, {seq}), the scores ({seq}, {cached + seq}). With one new token the mask is "
            f"all zeros and (1, 1) broadcasts, so only a chunk shows it. Use causal_mask(seq, start), "
            "start being the number of cached positions.")


def matched(g, call: Call, index: int) -> bool:
    """Whether call `index` gave Hugging Face's logits (nothing recorded)."""
    start, seq = starts_of(g)[index], call.ids.shape[1]
    if call.logits is None or call.logits.shape[:2] != (1, seq):
        return False
    rows = slice(start, start + seq)
    return diagnose.compare("", top(call.logits[0], g["top_ids"][rows]), g["top_logits"][rows],
                            atol=LOGITS_ATOL) is None


# ---- the cache's own bookkeeping, as the hidden tests call it ---------------------------------

def random_kv(rng, batch: int, positions: int) -> np.ndarray:
    b, heads, head_dim = KV_SHAPE
    return rng.standard_normal((batch, heads, positions, head_dim)).astype(np.float32)


def cache_update(cache, k, v, layer: int, what: str):
    """cache.update(k, v, layer) as numpy (keys, values), or None after saying why."""
    out = attempt(what, lambda: cache.update(tensor(k), tensor(v), layer))
    return None if out is FAILED else returned(out, what)


def returned(out, what: str):
    """What an update returned as numpy (keys, values), or None after saying why."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        expect(False, f"{what} returned {type(out).__name__}; expected a pair (keys, values) of "
                      "that layer's tensors so far.")
        return None
    keys = run(f"{what}'s keys", lambda: out[0], batch=False)
    values = run(f"{what}'s values", lambda: out[1], batch=False)
    return None if keys is None or values is None else (keys, values)


def expect_seq_length(cache, layer: int | None, expected: int, after: str, before: int | None = None) -> bool:
    call = "get_seq_length()" if layer is None else f"get_seq_length({layer})"
    got = attempt(call, lambda: cache.get_seq_length() if layer is None else cache.get_seq_length(layer))
    if got is FAILED:
        return False
    if _as_int(got) == expected:
        return True
    if expected == 0:
        why = ": a new cache holds nothing."
    elif before is not None and got == before:
        why = (": the cache did not keep the last update. Store the longer tensors in the cache "
               "(self.keys[layer_idx] = F.concat(...)), not only return them.")
    else:
        why = " (the number of positions that layer holds)."
    return expect(False, f"{after}, {call} returned {got!r}; expected {expected}{why}")


def _as_int(value) -> int | None:
    """A count as an int (a MAX Dim or a numpy integer counts too), or None."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def expect_update(what: str, got, keys: list, values: list, wrong: dict) -> bool:
    """update's (keys, values) against every update of that layer so far, concatenated."""
    want_k, want_v = np.concatenate(keys, axis=2), np.concatenate(values, axis=2)
    return (expect_close(f"{what}: the keys returned", got[0], want_k, atol=0, rtol=0,
                         mistakes={advice: make(keys) for advice, make in wrong.items()})
            and expect_close(f"{what}: the values returned", got[1], want_v, atol=0, rtol=0,
                             mistakes={"keys and values are swapped: update returns (keys, values)":
                                       want_k}))


def expect_named(what: str, actual, expected: np.ndarray, mistakes: dict, atol: float) -> bool:
    """As expect_close, naming the mistake (advice -> what it gives) that `actual` reproduces."""
    if actual is None:
        return False
    message = diagnose.compare(what, actual, expected, atol=atol)
    if message is not None:
        advice = diagnose.recognise(actual, mistakes, atol=atol)
        if advice:
            message += f"\nThis is what happens with {advice}"
    return expect(message is None, message or "")


def plural(n: int) -> str:
    return "" if n == 1 else "s"


# ---- generate, as the hidden tests judge it --------------------------------------------------

def calls_problem(seen: list, prompt_length: int) -> str | None:
    """What the model calls of a generate show about its use of the cache (None: the right use)."""
    if not seen:
        return "your generate never called the model."
    first = seen[0]
    if first.shape != (1, prompt_length):
        return (f"the first call gave the model ids of shape {first.shape}; expected the whole "
                f"prompt at once, (1, {prompt_length}) (the prefill).")
    if first.cache is None:
        return ("your generate called the model without a cache (cache=None). Make one KVCache() "
                "before the loop and pass it to every call: model(ids, cache).")
    for number, call in enumerate(seen[1:], start=2):
        if call.cache is not first.cache:
            return (f"call {number} was given " + ("no cache" if call.cache is None else
                                                     "another cache object than the first call")
                    + ". Make the cache once, before the loop, and pass the same one every time.")
        if call.shape != (1, 1):
            return (f"call {number} gave the model ids of shape {call.shape}; after the prompt, "
                    "each step gives only the token chosen last, (1, 1): the cache holds the rest.")
    return None


def tokens_problem(tokens: list, want: list, prompt: list, seen: list) -> str | None:
    if tokens[:len(prompt)] == prompt and tokens[len(prompt):] == want:
        return "your generate returned the prompt too: return only the new tokens."
    for step, (mine, theirs) in enumerate(zip(tokens, want)):
        if mine != theirs:
            last = seen[step].last if step < len(seen) else None
            if last is not None and last.shape == (len(last),) and theirs < len(last) \
                    and last[theirs] >= last.max() - LOGITS_ATOL:
                return None  # a tie within float32 rounding: your path is as good as theirs
            said = f"greedy token {step + 1} is {mine}; Hugging Face's is {theirs}."
            if last is None or last.ndim != 1 or not 0 <= mine < len(last):
                return said
            if last[mine] < last.max():
                return (f"{said} It is not the most likely token of your model's last position "
                        f"there ({int(np.argmax(last))} is): take the argmax of the last "
                        "position's logits of each call.")
            return (f"{said} Your model's logits put {mine} first there: the lines above say "
                    "whether your model, or what your generate gives it, differs.")
    if len(tokens) != len(want):
        return f"your generate returned {len(tokens)} tokens; expected {len(want)}."
    return None
