"""MAX's own "compiled X on the fly ... Run `max warm-interpreter-cache`" line never reaches the
learner: checker/child/compiles.py silences it in every process that runs learner code (the check's
child, `kata run`'s child). Cheap: MAX's policy module is plain Python."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

SAY = ("from max import _eager_policy\n"
       "_eager_policy.record_cold_compile('gather_GatherOp_cpu_0_uint32_int64', 0.0, provisioned=False)\n")


def _stderr(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=True).stderr


def test_max_says_it_without_us():
    """The premise: this MAX does print the line (else the next test proves nothing)."""
    assert "on the fly" in _stderr(SAY)


def test_silenced_by_the_checker():
    assert _stderr("from checker import compiles\ncompiles.silence()\n" + SAY) == ""
    assert _stderr("from checker import compiles\n"
                   "compiles.install(lambda name: None, lambda name, s: None)\n" + SAY) == ""

