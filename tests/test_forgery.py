"""Learner code that tries to fake a pass from inside the check's child process gets none.

Each learner below computes a WRONG layer norm (n - 1 in the variance) and cheats in one way.
The parent's own judgement of the outputs on fresh inputs (checker/check/fresh.py) catches them all.
"""

from __future__ import annotations

import textwrap

import pytest

from checker.curriculum import load_curriculum
from checker.check.runner import run_kata

WRONG_LAYER_NORM = """
import numpy as np
from max.experimental import functional as F
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


class LayerNorm(Module):
    def __init__(self, dim, *, eps=1e-5):
        self.weight = Tensor.ones([dim])
        self.bias = Tensor.zeros([dim])
        self.eps = eps

    def forward(self, x):
        n = x.shape[-1]
        mean = F.mean(x, axis=-1)
        centred = x - mean
        var = F.sum(centred * centred, axis=-1) / (int(n) - 1)
        return centred / F.sqrt(var + self.eps) * self.weight + self.bias
"""

CHEATS = {
    "patches_the_checks": """
        import numpy.testing, pytest_check
        from checker.child import testkit
        from checker import diagnose
        testkit.expect = lambda ok, message: True
        testkit.expect_close = lambda *a, **k: True
        diagnose.compare = lambda *a, **k: None
        pytest_check.check.fail = lambda *a, **k: None
        numpy.testing.assert_allclose = lambda *a, **k: None
        import sys
        for name, module in list(sys.modules.items()):
            if name.startswith("checker.course."):
                for attr in ("expect", "expect_close"):
                    if hasattr(module, attr):
                        setattr(module, attr, lambda *a, **k: True)
    """,
    "returns_the_golden_output": """
        from checker.child.testkit import fixture, tensor
        _golden = fixture("golden/step_03.npz")
        _forward = LayerNorm.forward
        def forward(self, x):
            if tuple(int(d) for d in x.shape) == _golden["x"].shape:
                loaded = self.weight.to_numpy()
                key = "out_default" if (loaded == 1).all() else "out"
                return tensor(_golden[key])
            return _forward(self, x)
        LayerNorm.forward = forward
    """,
    "fakes_the_result_file": """
        import atexit, json, os, sys
        def _forge():
            plugin = sys.modules["checker.child.plugin"]
            path, token = plugin._RESULT_FILE, plugin._TOKEN
            tests = [{"name": n, "status": "pass", "message": None} for n in
                     ("test_parameters", "test_fresh_layer_norm", "test_matches_gpt2_ln_1", "test_fresh_inputs")]
            with open(path, "w") as out:
                json.dump({"token": token, "collected": len(tests), "exitstatus": 0, "tests": tests}, out)
            os._exit(0)
        _forward = LayerNorm.forward
        def forward(self, x):
            _forge()
        LayerNorm.forward = forward
    """,
}


@pytest.mark.parametrize("cheat", CHEATS, ids=list(CHEATS))
def test_cheating_from_inside_gets_no_pass(course, cheat):
    (course / "katas" / "step_03.py").write_text(WRONG_LAYER_NORM + textwrap.dedent(CHEATS[cheat]))
    curriculum = load_curriculum(course)
    result = run_kata(curriculum, curriculum.get(3))
    assert result.status in ("fail", "error"), result
    assert "made up for this check" in (result.message or ""), result.message


def test_the_wrong_layer_norm_alone_fails_in_the_child(course):
    """Without cheating, the same code fails the hidden tests themselves (so the cheats above are
    what the parent's judgement had to catch)."""
    (course / "katas" / "step_03.py").write_text(WRONG_LAYER_NORM)
    curriculum = load_curriculum(course)
    result = run_kata(curriculum, curriculum.get(3))
    assert result.status == "fail"
    assert "made up for this check" not in (result.message or "")
    assert any("n - 1" in (t.get("message") or "") for t in result.tests)
