"""Kata $number's fresh inputs: TODO (maintainer) say what is drawn and why it separates mistakes.

draw() and judge() run in the parent and use numpy only; run() runs the learner's code in the
check's child process (it may use MAX). judge() is the guard the learner's process cannot forge.
"""

import numpy as np

from checker.check import fresh


def draw(rng, fixtures_dir):
    """New inputs for every check. TODO (maintainer): shapes and values nobody has seen."""
    return {"x": rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(2, 9))))}


def run(learner, inputs):
    """The learner's outputs on the inputs (None after recording what went wrong)."""
    from checker.child.testkit import FAILED, attempt

    out = attempt("solve(x)", lambda: learner.solve(inputs["x"]))
    return None if out is FAILED or out is None else {"out": np.asarray(out, dtype=np.float32)}


def expected(inputs, fixtures_dir):
    """The right answer. TODO (maintainer): from the numpy reference of checker/models/, which a
    test proves equal to Hugging Face."""
    return {"out": 2 * inputs["x"]}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs, model="the model")
