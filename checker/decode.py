"""Generation with the learner's own KV cache (Part 3), as fast as MAX runs it on this machine.

The learner's model (`forward(input_ids, cache) -> logits`, the ids being the NEW tokens) and
cache (`update(k, v, layer_idx) -> (all_k, all_v)`) are traced once into one compiled graph, a
*step*: (new ids (1, seq), every layer's past keys and values (1, kv_heads, past, head_dim))
-> (the last position's logits, every layer's keys and values after the step). seq and past are
symbolic, so the prompt (seq = its length, past = 0) and every later token (seq = 1) run the same
graph, compiled once per machine (MAX caches it across processes). Inside the trace a fresh
cache of the learner's class is preloaded with the past (`update` of an empty cache returns what
it was given) and what its `update` returns per layer is the next step's past: the keys and
values stay MAX buffers between steps, and only the last logits come back to numpy.

Learner code that cannot be traced with symbolic lengths (int() of a length, F.band_part with a
cache offset, numpy inside forward) still runs: each step is then the learner's model called
eagerly with their cache, each call staged as one interpreted graph (checker.fast.batched).
`Decoder.path` says which ran.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

COMPILED = "compiled"  # one compiled graph for every step (the fast path)
STAGED = "staged"  # the learner's model and cache called per step, each call one staged graph


class Decoder:
    """Feeds tokens to the learner's model through their cache; `feed(ids)` -> the next token's
    logits (vocab,) as float32 numpy. `reset()` starts a new sequence."""

    def __init__(self, model, cache_class, config, *, say: Callable[[str], None] = lambda _: None):
        self.model, self.cache_class, self.say = model, cache_class, say
        self.layers = int(config.num_hidden_layers)
        self.kv_heads = int(config.num_key_value_heads)
        self.head_dim = int(config.hidden_size) // int(config.num_attention_heads)
        self.step, self.path, self.why = None, None, ""
        self.reset()

    def reset(self) -> None:
        self.past = None  # compiled path: (keys, values) per layer, as MAX buffers
        self.cache = None  # staged path: the learner's cache object
        self.fed: list[int] = []  # every id fed since reset(), to rebuild a cache if needed

    def feed(self, ids) -> np.ndarray:
        ids = [int(i) for i in np.asarray(ids).reshape(-1)]
        if self.path is None:
            self._choose_path()
        if self.path == COMPILED:
            try:
                logits = self._compiled(ids)
                self.fed += ids
                return logits
            except Exception as exc:  # noqa: BLE001 - e.g. an error only at a new length
                self._fall_back(exc)
        logits = self._staged(ids)
        self.fed += ids
        return logits

    # --- the compiled path ---------------------------------------------------------------

    def _choose_path(self) -> None:
        started = time.monotonic()
        self.say("Compiling your model with its KV cache into one MAX graph (the first time on "
                 "this machine takes minutes; MAX keeps it for later runs) ...")
        try:
            self.step = compile_step(self.model, self.cache_class, self.layers, self.kv_heads,
                                     self.head_dim)
            self.path = COMPILED
            self.say(f"(compiled in {time.monotonic() - started:.0f} s)")
        except Exception as exc:  # noqa: BLE001 - the learner's code could not be traced
            self._fall_back(exc)

    def _fall_back(self, exc: Exception) -> None:
        self.path, self.why = STAGED, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        self.say("Your model could not run as one compiled graph with symbolic lengths "
                 f"({self.why}); running it step by step instead (slower, same tokens).")

    def _compiled(self, ids: list[int]) -> np.ndarray:
        from checker.fast import to_tensor

        if self.past is None:
            self.past = empty_past(self.layers, self.kv_heads, self.head_dim)
        logits, keys, values = self.step(to_tensor(np.array([ids], dtype=np.int64)), *self.past)
        self.past = (keys, values)
        return logits.to_numpy().reshape(-1)

    # --- the staged path -----------------------------------------------------------------

    def _staged(self, ids: list[int]) -> np.ndarray:
        from checker.fast import batched, to_tensor

        if self.cache is None:  # a fresh cache holding everything fed so far
            self.cache, ids = self.cache_class(), self.fed + ids
        cache, snapshot = self.cache, _snapshot(self.cache)

        def call():
            _restore(cache, snapshot)  # batched() may call twice: the cache must not grow twice
            return self.model(to_tensor(np.array([ids], dtype=np.int64)), cache)

        logits = batched(call)
        return np.asarray(logits.to_numpy())[0, -1]


def empty_past(layers: int, kv_heads: int, head_dim: int):
    """Every layer's keys and values before the first token: (1, kv_heads, 0, head_dim) each."""
    from checker.fast import to_tensor

    empty = np.zeros((1, kv_heads, 0, head_dim), dtype=np.float32)
    return [to_tensor(empty) for _ in range(layers)], [to_tensor(empty) for _ in range(layers)]


def compile_step(model, cache_class, layers: int, kv_heads: int, head_dim: int):
    """The learner's model and cache as one compiled step (see the module's docstring)."""
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
            last = logits[:, -1]  # only the last position predicts the next token
            return last, [after[i][0] for i in range(layers)], [after[i][1] for i in range(layers)]

    cpu = DeviceRef.CPU()
    ids = TensorType(DType.int64, (1, "seq"), device=cpu)
    past = TensorType(DType.float32, (1, kv_heads, "past", head_dim), device=cpu)
    return Step().compile(ids, [past] * layers, [past] * layers)


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


def _snapshot(cache) -> dict:
    """The cache object's attributes, lists and dicts copied one level deep."""
    return {name: (list(value) if isinstance(value, list) else
                   dict(value) if isinstance(value, dict) else value)
            for name, value in vars(cache).items()}


def _restore(cache, snapshot: dict) -> None:
    vars(cache).clear()
    vars(cache).update(_snapshot_copy(snapshot))


def _snapshot_copy(snapshot: dict) -> dict:
    return {name: (list(value) if isinstance(value, list) else
                   dict(value) if isinstance(value, dict) else value)
            for name, value in snapshot.items()}
