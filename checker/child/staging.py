"""Running the learner's MAX code faster without changing what it computes (see bench/RESULTS.md).

Eager MAX realizes every operation on its own: Python builds, finalizes and runs a one-op graph
each time, which dominates the time of a small model. Staging a whole call and realizing it once
runs the same kernels in the same order (the same numbers) several times faster. Learner code
that cannot run that way (it reads a value midway, or raises) runs again the plain way, so the
learner sees exactly what plain eager MAX gives.
"""

from __future__ import annotations


def to_tensor(array):
    """A MAX Tensor on the CPU holding a copy of the numpy `array`."""
    import numpy as np
    from max.driver import CPU
    from max.experimental.tensor import Tensor

    return Tensor.from_dlpack(np.ascontiguousarray(array)).to(CPU())


def batched(call, sources=()):
    """call() with all the MAX operations it stages realized together, as one graph.

    `sources`: realized tensors the call reads (a model's weights: weights_of(model)), made the
    graph's inputs before it grows. MAX 26.7 walks the whole graph for every input it adds
    (_passes.add_input), so a 30-layer model whose 273 weights join one by one, as its forward
    meets them, costs about 1 s more CPU per call; the graph and its numbers are the same."""
    from max.experimental.realization_context import EagerRealizationContext, realization_context

    from checker.child.compiles import staged_executor

    try:
        with EagerRealizationContext(staged_executor()) as context, realization_context(context):
            for tensor in sources:
                context.add_source(tensor)  # an input the graph ends up not using is dropped
            return call()
    except Exception:  # noqa: BLE001 - plain eager below gives the learner's own error
        return call()


class Unstaged(BaseException):
    """A staged call failed, and must not simply run again: it may have changed state (a KV
    cache appended to). The caller starts over, op by op. A BaseException, so that a learner's
    `except Exception` does not swallow it."""


def staged(call):
    """call() as one graph, or Unstaged when that fails (nothing is run again here)."""
    from max.experimental.realization_context import EagerRealizationContext, realization_context

    from checker.child.compiles import staged_executor

    try:
        with EagerRealizationContext(staged_executor()) as context, realization_context(context):
            return call()
    except Exception:  # noqa: BLE001 - the op-by-op run gives the learner's own error
        raise Unstaged from None


def staged_then_plain(run):
    """run(plain=False), every model call in it as one graph (call_model); when one of them fails
    (Unstaged), run(plain=True): the whole sequence again from the start, op by op, since the
    first try may have changed state (a KV cache appended to). run's result; None when the staged
    try failed and the plain one did too."""
    for plain in (False, True):
        try:
            return run(plain)
        except Unstaged:
            continue
    return None


def call_model(model, plain: bool, *args, **kwargs):
    """model(*args, **kwargs), as one graph unless `plain` (Unstaged when staging fails)."""
    if plain:
        return model(*args, **kwargs)
    return staged(lambda: model(*args, **kwargs))


def weights_of(module) -> tuple:
    """The realized tensors among a module's parameters (its loaded weights), for batched();
    () when it has none or is not a MAX module."""
    try:
        return tuple(tensor for _, tensor in module.parameters if getattr(tensor, "real", False))
    except Exception:  # noqa: BLE001 - the learner's module: said elsewhere, if it matters
        return ()


def lazily(factory):
    """factory() under MAX's lazy realization: the random initial weights a module draws are only
    computed if used (loading GPT-2's weights replaces them; Embedding(50257, 64) alone costs
    seconds eagerly). Anything that does not work lazily is built again the plain way."""
    from max.experimental import functional as F

    try:
        with F.lazy():
            return factory()
    except Exception:  # noqa: BLE001 - the plain call below raises the learner's own error
        return factory()


def batched_model(model):
    """A Module that calls `model` with batched(): what a generation loop should be handed."""
    from max.experimental.nn import Module

    class Batched(Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            return batched(lambda: self.model(*args))

    return Batched()
