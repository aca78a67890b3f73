"""Kata $number: $title -- the hidden tests. TODO (maintainer): compare behaviour and numbers
with golden data from Hugging Face (fixtures/), and name the common mistakes."""

import numpy as np

from checker import diagnose
from checker.child.testkit import FAILED, attempt, expect

from . import spec


def test_example(learner):
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    got = attempt("solve(x)", lambda: learner.solve(x))
    if got is FAILED:
        return
    if not expect(got is not None, "solve(x) returned None. Did you forget a `return` statement?"):
        return
    problem = diagnose.compare("solve(x)", np.asarray(got, dtype=np.float64),
                               spec.expected({"x": x}, None)["out"])
    expect(problem is None, problem or "")
