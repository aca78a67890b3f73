"""Kata 14's fresh inputs: a head size, length, start position and theta nobody has seen (starts
far from 0 and thetas far from 10000, so that neither can be ignored), and vectors to rotate."""

import numpy as np

from checker.check import fresh
from checker.models import llama


# Fresh inputs are judged within 2x the hidden tests' 1e-4 + 1e-4 * |expected|: the reference
# solution's worst error over 200 fresh draws was 0.35 of that (float32 angles of up to 320
# radians; bench/fresh_margins.py, bench/RESULTS.md table 12), so 2x leaves it under a quarter.
# Every named mistake (theta or start ignored, i / head_dim, interleaved pairs) is 500 or more
# of these tolerances off (300 fresh draws).
ATOL = RTOL = 2e-4


def draw(rng, fixtures_dir):
    head_dim, seq = 2 * int(rng.integers(2, 33)), int(rng.integers(2, 20))
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 5)), seq, head_dim))
    return {"x": x.astype(np.float32), "start": np.array(int(rng.integers(1, 300))),
            "theta": np.array(10.0 ** rng.uniform(3.5, 6.5))}


def run(learner, inputs):
    from checker.child.testkit import FAILED, as_numpy, attempt, expect, outputs, tensor

    x = inputs["x"]
    start, theta = int(inputs["start"]), float(inputs["theta"])
    what = f"rotary_tables({x.shape[-1]}, {x.shape[-2]}, theta={theta:g}, start={start})"
    pair = attempt(what, lambda: learner.rotary_tables(x.shape[-1], x.shape[-2], theta=theta, start=start))
    if pair is FAILED or not expect(isinstance(pair, (tuple, list)) and len(pair) == 2,
                                    f"{what} should return a pair (cos, sin)."):
        return None
    cos, sin = as_numpy(pair[0], f"cos of {what}"), as_numpy(pair[1], f"sin of {what}")
    rotated = outputs("apply_rotary(x, cos, sin)", lambda: learner.apply_rotary(tensor(x), pair[0], pair[1]))
    if cos is None or sin is None or rotated is None:
        return None
    return {"cos": cos, "sin": sin, **rotated}


def expected(inputs, fixtures_dir):
    x = inputs["x"]
    cos, sin = llama.rotary_tables(x.shape[-1], x.shape[-2], float(inputs["theta"]), int(inputs["start"]))
    return {"cos": cos, "sin": sin, "out": llama.apply_rotary(x, cos, sin)}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs, model="SmolLM2",
                               atol=ATOL, rtol=RTOL)
