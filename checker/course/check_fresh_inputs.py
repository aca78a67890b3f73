"""Runs the learner's code on inputs the parent made up for this check, and saves what it returns.

Nothing is compared here: the parent judges the saved outputs (checker/check/fresh.py), out of reach
of the learner's process. How to run the learner's code is the kata's own (its folder's
spec.run); a learner error is reported here, like in any hidden test.
"""

import importlib
import os

from checker.child import plugin
from checker.protocol import Env, load_arrays, save_arrays


def test_fresh_inputs(learner):
    """Your code on inputs made up for this check (the parent process judges the outputs)."""
    paths = plugin.fresh_paths()
    if paths is None:
        return  # run by hand, outside a check: nothing to save
    inputs = load_arrays(paths[0])
    assert inputs is not None, "the check's fresh inputs are missing"
    spec = importlib.import_module(os.environ[Env.PACKAGE] + ".spec")
    outputs = spec.run(learner, inputs)
    if outputs is not None:
        save_arrays(paths[1], outputs)
