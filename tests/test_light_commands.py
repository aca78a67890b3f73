"""`kata`, `kata list`, `kata hint` and `kata progress`-like commands answer in well under a
second because they import nothing heavy: not MAX, torch, transformers, numpy or pytest."""

import subprocess
import sys

import pytest

from conftest import kata_env

HEAVY = ("max", "torch", "transformers", "numpy", "pytest")

PROBE = """
import sys
from checker.cli import main
sys.argv = ["kata", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("HEAVY:", ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("args", [[], ["list"], ["hint", "3"], ["--help"]],
                         ids=["kata", "list", "hint", "help"])
def test_learner_commands_import_nothing_heavy(course, args):
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=course,
                          env=kata_env(course), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HEAVY: \n" in done.stdout, done.stdout  # nothing of HEAVY was imported
