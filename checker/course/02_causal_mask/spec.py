"""Kata 2's fresh inputs: a sequence length and a number of cached tokens; the mask must let each
query see exactly the keys at or before its own position."""

import numpy as np

MASK_BLOCKED_AT_MOST = -1e4  # as the hidden tests: anything this negative removes a key


def draw(rng, fixtures_dir):
    return {"seq": np.array(int(rng.integers(1, 13))), "past": np.array(int(rng.integers(0, 7)))}


def run(learner, inputs):
    from max.driver import CPU
    from max.dtype import DType

    from checker.testkit import outputs

    seq, past = int(inputs["seq"]), int(inputs["past"])
    return outputs(f"causal_mask({seq}, {past})",
                   lambda: learner.causal_mask(seq, past, dtype=DType.float32, device=CPU()), "mask")


def judge(inputs, outputs, fixtures_dir):
    seq, past = int(inputs["seq"]), int(inputs["past"])
    mask = outputs.get("mask")
    if mask is None:
        return "no mask came back"
    if mask.shape != (seq, seq + past):
        return f"causal_mask({seq}, {past}) has shape {mask.shape}; expected {(seq, seq + past)}"
    if mask.dtype != np.float32:
        return f"causal_mask({seq}, {past}) is {mask.dtype}; expected float32"
    rows, cols = np.indices(mask.shape)
    allowed = cols <= rows + past
    if (~allowed & ~(mask <= MASK_BLOCKED_AT_MOST)).any() or (allowed & ~(np.abs(mask) <= 1e-6)).any():
        return f"causal_mask({seq}, {past}) lets queries see the wrong keys"
    return None
