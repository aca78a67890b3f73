"""Kata 12's child-side helpers, shared by its hidden tests and its fresh-input spec: the
learner's kata 11 model that records its logits, a model with fixed logits, and reading a token."""

import numpy as np

from checker.child.testkit import batched, build, expect, once, tensor
from checker.models.gpt2_kit import load_gpt2, tiny_config


def _lm_class():
    import importlib

    return importlib.import_module("katas.step_11").MaxGPT2LMHeadModel


def recording_model():
    """The learner's kata 11 model with GPT-2's weights, recording the last logits of each call
    (built once per check, its record emptied for each test)."""
    model = once("model", _build_recording_model)
    if model is not None:
        model.steps.clear()
    return model


def _build_recording_model():
    from max.experimental.nn import Module

    inner = build("MaxGPT2LMHeadModel(config) from your kata 11", lambda: _lm_class()(tiny_config()))
    if inner is None or not load_gpt2(inner, "", "MaxGPT2LMHeadModel (kata 11)"):
        return None

    class Recorder(Module):
        def __init__(self):
            super().__init__()
            self.model = inner
            self.steps = []

        def forward(self, input_ids):
            # The learner's forward as one MAX graph: the same operations, several times faster
            # than one realization per operation, for each of the 16 greedy steps.
            logits = batched(lambda: self.model(input_ids))
            self.steps.append(logits.to_numpy()[0, -1])
            return logits

    return Recorder()


def fixed_logits_model(logits):
    """A model whose next-token logits are always GPT-2's, so sampling is tested alone (fast)."""
    from max.experimental.nn import Module

    class FixedLogits(Module):
        def __init__(self):
            super().__init__()
            self.logits = tensor(np.ascontiguousarray(np.stack([logits, logits])[None]))

        def forward(self, input_ids):
            return self.logits

    return FixedLogits()


def token_of(value, what):
    """The learner's next token as an int: a MAX Tensor, numpy value or int with one element."""
    from max.experimental.tensor import Tensor

    try:
        array = value.to_numpy() if isinstance(value, Tensor) else np.asarray(value)
        if array.size == 1 and array.dtype.kind in "iu":
            return int(array.reshape(-1)[0])
    except Exception:  # noqa: BLE001
        pass
    expect(False, f"{what} should return one integer token id (a MAX Tensor of int64), "
                  f"got {type(value).__name__}" + (f" of shape {array.shape}, dtype {array.dtype}"
                                                  if "array" in locals() else "") + ".")
    return None
