"""The next token's logits from the learner's own Llama, with or without their KV cache.

`kata chat` and bench/generation_llama.py hand a generation loop one of these; each has
`next_logits(ids) -> (vocab,) float32 numpy`, ids being the whole sequence so far:

  NoCache(model)         Part 2: the learner's LlamaForCausalLM re-reads the whole sequence for
                         every token: one compiled graph per fixed length (64, 128, ... tokens),
                         the ids padded to it, or, when their code cannot be compiled, each
                         forward staged as one graph (checker.child.staging.batched)
  Cached(model, KVCache, config)   Part 3: the learner's CachedLlamaForCausalLM and KVCache;
                         only the tokens the cache has not seen go through the model

Cached runs the learner's model and cache traced into one compiled graph, a *step*: (new ids
(1, seq), every layer's past keys and values (1, kv_heads, past, head_dim)) -> (the last
position's logits, every layer's keys and values after the step). seq and past are symbolic, so
the prompt (seq = its length, past = 0) and every later token (seq = 1) run the same graph,
compiled once per machine (MAX caches it across processes). Inside the trace, a fresh cache of
the learner's class is preloaded with the past (`update` of an empty cache returns what it was
given), and what its `update` returns per layer becomes the next step's past. Between steps the
keys and values stay MAX buffers; only the ids go in and the last logits come out.

Learner code that cannot be traced with symbolic lengths (int() of a length, F.band_part with a
cache offset, numpy inside forward) still runs, more slowly: each step is then the learner's
model called with their cache object, the call staged as one graph. `Cached.path` says which.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

COMPILED = "compiled"  # one compiled graph for every step (the fast path)
STAGED = "staged"  # the learner's model and cache called per step, each call one staged graph
BUCKETS = "compiled per length"  # no cache: one graph per fixed length, the ids padded to it


def with_weights(model_class, config, state: dict):
    """The learner's model_class(config) with `state` (numpy arrays by Hugging Face's names)
    loaded, on the CPU in float32; its random initial weights are never computed."""
    from max.driver import CPU
    from max.dtype import DType
    from max.experimental.tensor import default_device, default_dtype

    from checker.child.staging import lazily, to_tensor

    with default_device(CPU()), default_dtype(DType.float32):
        model = lazily(lambda: model_class(config))
        model.load_state_dict({name: to_tensor(array) for name, array in state.items()})
    return model


class _LearnersModel:
    """The learner's model, given, or built by `build()` the first time it is needed (a graph
    kept from an earlier chat runs without it: it is only built to compile or to run staged)."""

    def _init_model(self, model, build, step) -> None:
        if model is None and build is None:
            raise TypeError("a model or a way to build it is needed")
        self._model, self._build = model, build
        self.step, self.loaded = step, step is not None

    @property
    def model(self):
        if self._model is None:
            self._model = self._build()
        return self._model


class NoCache(_LearnersModel):
    """The learner's LlamaForCausalLM, the whole sequence through it for every token, the fastest
    way their code allows (`path`):
      compiled per length  one graph per fixed length (64, 128, 256, ... tokens), the ids padded
                at the end to it. The model is causal (what the learner's katas check), so no
                position sees the padding after it: the last real position's logits are the
                unpadded ones. Each length compiles once per machine (MAX keeps it; `kept` and
                `keep` let a caller keep the compiled graphs too). Not one graph with a symbolic
                length, as Cached is: MAX 26.7 compiled the reference model that way into a graph
                whose logits were off by 9 to 18 (bench/RESULTS.md section 13);
      staged    code that compiles at no fixed length: each forward staged as one graph (the
                same numbers, 20-100x slower on SmolLM2)."""

    FIRST_BUCKET = 64

    def __init__(self, model=None, *, say: Callable[[str], None] = lambda _: None,
                 describe: Callable[[Exception], str] | None = None, compile: bool = True,
                 build: Callable[[], object] | None = None,
                 kept: Callable[[int], object] | None = None,
                 keep: Callable[[int, object], None] | None = None):
        self.say, self.describe = say, describe
        self._init_model(model, build, None)
        self.kept, self.keep = kept or (lambda length: None), keep or (lambda length, step: None)
        self.why, self.buckets = "", {}
        self.path = None if compile else STAGED
        self.timings = {"graph": 0.0, "host": 0.0, "steps": 0}

    def prepare(self) -> None:
        """Compiles the first length's graph (or chooses the staged path) now rather than at the
        first token."""
        if self.path is None:
            self.path = BUCKETS
            self._step_for(self.FIRST_BUCKET)

    @classmethod
    def bucket(cls, length: int) -> int:
        bucket = cls.FIRST_BUCKET
        while bucket < length:
            bucket *= 2
        return bucket

    def _step_for(self, bucket: int):
        if bucket not in self.buckets:
            step = self.kept(bucket)
            self.loaded = self.loaded or step is not None
            if step is None:
                step = _compiled_or_none(self, f"your model for up to {bucket} tokens",
                                         lambda: compile_whole(self.model, bucket), "Your model",
                                         symbolic=False)
                if step is not None:
                    self.keep(bucket, step)
            self.buckets[bucket] = step
            if step is None:
                self.path = STAGED
        return self.buckets[bucket]

    def next_logits(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(1, -1)
        self.prepare()
        length = ids.shape[1]
        if self.path == BUCKETS:
            bucket = self.bucket(length)
            step = self._step_for(bucket)
            if step is not None:
                padded = np.zeros((1, bucket), dtype=np.int64)
                padded[:, :length] = ids
                try:
                    return _run(self, step, padded)[0].reshape(bucket, -1)[length - 1].copy()
                except Exception as exc:  # noqa: BLE001 - MAX or the learner's code at run time
                    self.path = STAGED
                    _say_fallback(self, "Your model", exc, symbolic=False)
        from checker.child.staging import batched, to_tensor

        return np.asarray(batched(lambda: self.model(to_tensor(ids))).to_numpy())[0, -1]


def _compiled_or_none(decoder, what: str, build, fallback: str = "", symbolic: bool = True):
    """build() (a compile: minutes the first time on a machine), said to decoder.say with a
    heartbeat; None when the learner's code cannot compile, said once with where it stopped
    (under `fallback`, default `what`)."""
    decoder.say(f"Compiling {what} into one MAX graph: minutes the first time on this machine, "
                "seconds after that (MAX keeps it) ...")
    started = time.monotonic()
    try:
        with _heartbeat(decoder.say, started):
            step = build()
    except Exception as exc:  # noqa: BLE001 - the learner's code could not be traced
        _say_fallback(decoder, fallback or what[0].upper() + what[1:], exc, symbolic)
        return None
    decoder.say(f"(compiled, ready in {time.monotonic() - started:.0f} s)")
    return step


def _say_fallback(decoder, what: str, exc: Exception, symbolic: bool = True) -> None:
    decoder.why = _short(decoder.describe(exc) if decoder.describe else f"{type(exc).__name__}: {exc}")
    advice = ("\nTo compile, your code must also work when lengths are only known as the graph "
              "runs: no int() of a length; F.range rather than F.band_part or Tensor.arange(n) + "
              "start." if symbolic else "")
    decoder.say(f"{what} could not run as one compiled graph, so each token runs it step by "
                f"step: the same tokens, more slowly. Where it stopped:\n  {decoder.why}{advice}")


def _run(decoder, step, ids: np.ndarray, *rest):
    """step's outputs for ids (int64 (1, seq)) and rest (MAX buffers), the first as numpy."""
    from max.driver import Buffer

    began = time.perf_counter()
    buffer = Buffer.from_numpy(ids)
    ran = time.perf_counter()
    # execute_raw: the buffers as the graph takes them, without the per-call checks and Tensor
    # wrapping of CompiledCallable.__call__.
    first, *others = step.execute_raw(buffer, *rest)
    done = time.perf_counter()
    out = first.to_numpy().copy()  # a copy: the buffer is reused by MAX
    decoder.timings["graph"] += done - ran
    decoder.timings["host"] += (ran - began) + (time.perf_counter() - done)
    decoder.timings["steps"] += 1
    return (out, *others)


class Cached(_LearnersModel):
    """The learner's CachedLlamaForCausalLM and KVCache (see the module's docstring).

    say(text) hears about the compile (minutes the first time on a machine) and the fallback;
    describe(exc) words why the learner's code could not be compiled (default: the exception's
    first line). `timings` adds up seconds per part of a step: "graph" (the compiled graph
    running), "host" (ids in, logits out); the rest of a call is Python."""

    def __init__(self, model, cache_class, config, *, say: Callable[[str], None] = lambda _: None,
                 describe: Callable[[Exception], str] | None = None,
                 build: Callable[[], object] | None = None, step=None):
        self.cache_class, self.say, self.describe = cache_class, say, describe
        self.layers = int(config.num_hidden_layers)
        self.kv_heads = int(config.num_key_value_heads)
        self.head_dim = int(config.hidden_size) // int(config.num_attention_heads)
        self._init_model(model, build, step)
        self.path, self.why = (COMPILED if step is not None else None), ""
        self.timings = {"graph": 0.0, "host": 0.0, "steps": 0}
        self.reset()

    def reset(self) -> None:
        """Forget every token: the next call starts a new sequence."""
        self.past = None  # compiled path: every layer's keys, then values, as MAX buffers
        self.cache = None  # staged path: the learner's cache object
        self.seen: list[int] = []  # the ids the cache holds

    def prepare(self) -> None:
        """Compiles the step (or chooses the staged path) now rather than at the first token."""
        if self.path is None:
            self._compile()

    def next_logits(self, ids) -> np.ndarray:
        ids = np.asarray(ids).reshape(-1).tolist()
        if ids[:len(self.seen)] != self.seen or len(ids) == len(self.seen):
            self.reset()  # not a continuation of what the cache holds: start again
        new = ids[len(self.seen):]
        self.prepare()
        if self.path == COMPILED:
            try:
                logits = self._compiled(new)
            except Exception as exc:  # noqa: BLE001 - e.g. a length only this input has
                self._fall_back(exc)
                self.reset()
                new = ids
        if self.path == STAGED:
            logits = self._staged(new)
        self.seen = ids
        return logits

    # --- the compiled path ---------------------------------------------------------------

    def _compile(self) -> None:
        self.step = _compiled_or_none(self, "your model and KV cache", lambda: compile_step(
            self.model, self.cache_class, self.layers, self.kv_heads, self.head_dim))
        self.path = STAGED if self.step is None else COMPILED

    def _fall_back(self, exc: Exception) -> None:
        self.path = STAGED
        _say_fallback(self, "Your model and cache", exc)

    def _compiled(self, new: list[int]) -> np.ndarray:
        from max.driver import Buffer

        if self.past is None:
            empty = np.zeros((1, self.kv_heads, 0, self.head_dim), dtype=np.float32)
            self.past = [Buffer.from_numpy(empty) for _ in range(2 * self.layers)]
        logits, *self.past = _run(self, self.step, np.array([new], dtype=np.int64), *self.past)
        return logits.reshape(-1)

    # --- the staged path -----------------------------------------------------------------

    def _staged(self, new: list[int]) -> np.ndarray:
        from checker.child.staging import batched, to_tensor

        if self.cache is None:
            self.cache = self.cache_class()
        cache, before = self.cache, _attributes(self.cache)

        def call():
            _put_back(cache, before)  # batched() may run this twice: the cache grows once
            return self.model(to_tensor(np.array([new], dtype=np.int64)), cache)

        return np.asarray(batched(call).to_numpy())[0, -1]


class Verifier(Cached):
    """Cached, giving the logits of every new position and able to forget positions: what
    speculative decoding needs (checker.play.speculative). The same graph as Cached's but for its
    output, compiled once per machine too."""

    def _compile(self) -> None:
        self.step = _compiled_or_none(self, "your model and KV cache", lambda: compile_step(
            self.model, self.cache_class, self.layers, self.kv_heads, self.head_dim, every=True))
        self.path = STAGED if self.step is None else COMPILED

    def crop(self, length: int) -> None:
        """Forgets every position from `length` on."""
        from max.driver import Buffer

        if length >= len(self.seen):
            return
        if self.path == COMPILED and self.past is not None:
            self.past = [Buffer.from_numpy(np.ascontiguousarray(b.to_numpy()[:, :, :length]))
                         for b in self.past]
        elif self.cache is not None:
            self.cache.crop(length)  # the learner's own (kata 23's KVCache)
        self.seen = self.seen[:length]

    def every_logits(self, new: list[int]) -> np.ndarray:
        """(len(new), vocab): the logits after each of the new ids, which continue self.seen."""
        self.prepare()
        replay = list(new)
        if self.path == COMPILED:
            try:
                logits = self._compiled(list(new)).reshape(len(new), -1)
                self.seen = self.seen + list(new)
                return logits
            except Exception as exc:  # noqa: BLE001 - e.g. a length only this input has
                self._fall_back(exc)
                replay, self.past, self.cache, self.seen = self.seen + list(new), None, None, []
        logits = self._staged_every(replay)[-len(new):]
        self.seen = self.seen + replay
        return logits

    def _staged_every(self, new: list[int]) -> np.ndarray:
        from checker.child.staging import batched, to_tensor

        if self.cache is None:
            self.cache = self.cache_class()
        cache, before = self.cache, _attributes(self.cache)

        def call():
            _put_back(cache, before)
            return self.model(to_tensor(np.array([new], dtype=np.int64)), cache)

        return np.asarray(batched(call).to_numpy())[0]


def compile_whole(model, length: int):
    """The learner's model without a cache as one compiled graph for one fixed length: ids
    (1, length) -> every position's logits (1, length, vocab)."""
    from max.dtype import DType
    from max.experimental.nn import Module
    from max.graph import DeviceRef, TensorType

    class Whole(Module):
        def __init__(self):
            super().__init__()
            self.model = model  # the learner's parameter names, under "model."

        def forward(self, input_ids):
            return self.model(input_ids)

    return Whole().compile(TensorType(DType.int64, (1, length), device=DeviceRef.CPU()))


def compile_step(model, cache_class, layers: int, kv_heads: int, head_dim: int, every: bool = False):
    """The learner's model and cache as one compiled step (see the module's docstring); with
    `every`, the logits of every new position (speculative decoding verifies them all)."""
    from max.dtype import DType
    from max.experimental.nn import Module
    from max.graph import DeviceRef, TensorType

    class Step(Module):
        def __init__(self):
            super().__init__()
            self.model = model  # the learner's parameter names, under "model."

        def forward(self, input_ids, past_keys, past_values):
            cache = cache_class()
            for layer in range(layers):
                cache.update(past_keys[layer], past_values[layer], layer)
            after = _record_updates(cache)
            logits = self.model(input_ids, cache)
            missing = [layer for layer in range(layers) if layer not in after]
            if missing:
                raise TypeError(f"the model never called cache.update(k, v, {missing[0]})")
            last = logits if every else logits[:, -1]  # else only the last position predicts
            return last, [after[i][0] for i in range(layers)], [after[i][1] for i in range(layers)]

    cpu = DeviceRef.CPU()
    ids = TensorType(DType.int64, (1, "seq"), device=cpu)
    past = TensorType(DType.float32, (1, kv_heads, "past", head_dim), device=cpu)
    return Step().compile(ids, [past] * layers, [past] * layers)


def _short(text: str) -> str:
    """An error's first line (MAX's can run to pages) and, if given, where in the learner's code
    it happened (checker.child.learner_import.describe_exception's "  at ..." lines)."""
    lines = text.strip().splitlines() or ["?"]
    where = next((i for i, line in enumerate(lines) if line.startswith("  at ")), None)
    return "\n".join([lines[0][:200]] + (lines[where:] if where else []))


def _record_updates(cache) -> dict:
    """What the cache's update returns, per layer, from now on (the last call per layer)."""
    returned: dict = {}
    update = cache.update

    def recording(key_states, value_states, layer_idx):
        result = update(key_states, value_states, layer_idx)
        returned[int(layer_idx)] = tuple(result)
        return result

    cache.update = recording
    return returned


def _attributes(cache) -> dict | None:
    """The cache object's attributes, its lists and dicts copied (None: it has no __dict__)."""
    state = getattr(cache, "__dict__", None)
    return None if state is None else _copied(state)


def _put_back(cache, attributes: dict | None) -> None:
    if attributes is not None:
        cache.__dict__.clear()
        cache.__dict__.update(_copied(attributes))


def _copied(state: dict) -> dict:
    return {name: list(value) if isinstance(value, list) else
            dict(value) if isinstance(value, dict) else value for name, value in state.items()}


class _heartbeat:
    """Says every minute that the compile is still running (it is one long call into MAX)."""

    def __init__(self, say: Callable[[str], None], started: float, every: float = 60.0):
        self.say, self.started, self.every, self.stop = say, started, every, threading.Event()

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            seconds = time.monotonic() - self.started
            so_far = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
            self.say(f"(still compiling, {so_far} so far)")

    def __enter__(self):
        threading.Thread(target=self._beat, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
