"""The Python 3.11 eager-MAX speed fix must be in place inside every check's child process."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from checker.child import sigint
from checker.curriculum import load_curriculum
from checker.check.runner import run_kata

ROOT = Path(__file__).resolve().parents[1]


def test_child_process_runs_learner_code_with_the_fix(tmp_path, monkeypatch):
    report = tmp_path / "sigint.txt"
    monkeypatch.setenv("SIGINT_REPORT", str(report))
    curriculum = load_curriculum(ROOT)
    result = run_kata(curriculum, curriculum.get(1),
                      learner_file=ROOT / "tests/learners/step_01_reports_sigint.py")
    assert result.status == "pass", result.message
    assert report.read_text() == "fixed"


def test_install_replaces_only_the_default_handler():
    previous = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        assert not sigint.is_installed()
        assert sigint.install()
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass  # Ctrl-C still interrupts
        else:
            raise AssertionError("Ctrl-C no longer raises KeyboardInterrupt")
    finally:
        signal.signal(signal.SIGINT, previous)


def test_kata_run_child_has_the_fix_before_max():
    """`kata run`'s child (checker.play.run_child) installs the handler when it is imported, before
    it imports MAX; a fresh interpreter shows it by behaviour, not by reading the source."""
    probe = ("import signal, sys; import checker.play.run_child; "
             "assert 'max' not in sys.modules, 'MAX imported before the fix'; "
             "print('default' if signal.getsignal(signal.SIGINT) is signal.default_int_handler "
             "else 'fixed')")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fixed"
