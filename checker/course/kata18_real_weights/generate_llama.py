"""Maintainers only: greedy generation with the learner's LlamaForCausalLM (katas 13-17), without
a KV cache, for tests/llama_parity.py.

Nothing in the checker imports it, and the hidden tests do not use it: tests/llama_parity.py
(the proof that Part 2 matches Hugging Face; not collected by pytest) puts this folder on
sys.path and generates kata 18's answer with it, timed, in the ways below that its --modes
option names (eager, batched, compiled).

Every step runs the whole sequence through the model again and appends the most likely token.
The loop (argmax, append) is numpy: only the model is MAX.

    greedy(model, ids, max_new_tokens, eos_id)          the model as it is: plain eager MAX,
                                                        one realization per operation
    greedy(batched_model(model), ids, ...)              checker.child.staging.batched_model: each forward
                                                        staged and run as one interpreted graph
    greedy(compiled(model), ids, ...)                   one compiled graph with a symbolic
                                                        sequence length: compiled once, then fast

SmolLM2-135M, chat prompt of 37 tokens, 8 new tokens, MAX_EAGER_EXECUTOR=interpreter, on 2
shared cores (load 6-10), 2026-12-02: plain eager 308 s (38 s/token); batched 97 s (first
forward 18 s); compiled 3.6 s (0.45 s/token) after a 452 s compile on a cold cache (16 s
from MAX's cache in a later process, then 2.7 s for the 8 tokens). All three
gave Hugging Face's tokens, "The capital of France is Paris.<|im_end|>". compiled() needs the
learner's code to work on a symbolic length (MAX operations, not numpy, on the sequence axis);
fall back to batched when it raises.
"""
from __future__ import annotations

import numpy as np


def _tensor(array: np.ndarray):
    from max.driver import CPU
    from max.experimental.tensor import Tensor

    return Tensor.from_dlpack(np.ascontiguousarray(array, dtype=np.int64)).to(CPU())


def greedy(model, ids: np.ndarray, max_new_tokens: int, eos_id: int | None = None,
           on_token=None) -> list[int]:
    """The up to max_new_tokens token ids that follow ids (1, T), stopping after eos_id.

    model: any callable from a (1, seq) int64 MAX Tensor to (1, seq, vocab) logits: the
    learner's LlamaForCausalLM, or compiled(that model). on_token(id) is called as each token
    is chosen (to stream text).
    """
    ids = np.asarray(ids, dtype=np.int64).reshape(1, -1)
    new_tokens: list[int] = []
    for _ in range(max_new_tokens):
        logits = model(_tensor(ids))
        last = np.asarray(logits.to_numpy())[0, -1]  # (vocab,): only the last position predicts
        token = int(np.argmax(last))
        new_tokens.append(token)
        if on_token is not None:
            on_token(token)
        if token == eos_id:
            break
        ids = np.concatenate([ids, [[token]]], axis=1)
    return new_tokens


def compiled(model):
    """model as one compiled MAX graph for input (1, seqlen) int64, seqlen symbolic: the graph
    is compiled once for every length (cached by MAX across processes), with the model's
    current weights."""
    from max.dtype import DType
    from max.graph import DeviceRef, TensorType

    return model.compile(TensorType(DType.int64, (1, "seqlen"), device=DeviceRef.CPU()))
