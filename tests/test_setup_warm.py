"""`kata setup`'s compiling (checker/play/warmup.py): by default only the op families the course
uses, in checker.play.warm_course; MAX's whole warm with --all, or where this MAX cannot compile
a subset. The commands are recorded here, not run (the real warm takes minutes: RESULTS §13)."""

from __future__ import annotations

import sys

import pytest
from rich.console import Console

from checker.play import warmup


class Calls(list):
    """The commands warm() ran, in order; codes: the exit statuses the next calls return."""
    codes: list[int]


@pytest.fixture
def calls(monkeypatch):
    made = Calls()
    made.codes = []

    def fake_run(command, capture_output=False):
        made.append(("run", command))
        return type("Done", (), {"returncode": 1})()  # MAX: not warmed yet

    def fake_call(command):
        made.append(("call", command))
        return made.codes.pop(0) if made.codes else 0

    monkeypatch.setattr(warmup.subprocess, "run", fake_run)
    monkeypatch.setattr(warmup.subprocess, "call", fake_call)
    monkeypatch.setattr(warmup, "max_command", lambda: ["max"])
    return made


def _console():
    return Console(file=open("/dev/null", "w"), width=200)


def test_setup_compiles_the_course_families_only(calls):
    assert warmup.warm(_console()) == 0
    kinds = [c for c in calls if c[0] == "call"]
    assert kinds == [("call", [sys.executable, "-m", "checker.play.warm_course", *warmup.COURSE_FAMILIES])]
    assert {"matmul", "reduce_axis", "binary", "unary"} <= set(warmup.COURSE_FAMILIES)
    assert not {"conv", "pooling", "resize", "roi_align", "nms"} & set(warmup.COURSE_FAMILIES)


def test_setup_all_runs_maxs_whole_warm(calls):
    assert warmup.warm(_console(), everything=True) == 0
    assert [c for c in calls if c[0] == "call"] == [("call", ["max", "warm-interpreter-cache", "--force"])]


def test_a_max_without_the_batch_compile_falls_back_to_the_whole_warm(calls):
    calls.codes.append(warmup.NO_HOOK)
    assert warmup.warm(_console()) == 0
    commands = [c[1] for c in calls if c[0] == "call"]
    assert commands[0][:3] == [sys.executable, "-m", "checker.play.warm_course"]
    assert commands[1] == ["max", "warm-interpreter-cache"]


def test_a_failed_course_warm_is_reported_not_hidden(calls):
    calls.codes.append(1)
    assert warmup.warm(_console()) == 1
    assert len([c for c in calls if c[0] == "call"]) == 1


def test_the_warm_process_on_a_warmed_machine_compiles_nothing():
    """The suite runs after `kata setup` (.ci/run): MAX's stamp is there, so the real process
    says so and exits 0 at once, without compiling."""
    import subprocess

    from conftest import REPO

    done = subprocess.run([sys.executable, "-m", "checker.play.warm_course", *warmup.COURSE_FAMILIES],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already compiled" in done.stdout and "compiled binary" not in done.stdout, done.stdout


def test_the_course_families_are_maxs():
    """Every family kata setup names is one this MAX registers (an unknown name would make the
    warm process hand over to MAX's whole warm, NO_HOOK), and an empty list is never stamped."""
    import subprocess

    from conftest import REPO

    listed = subprocess.run([sys.executable, "-c", "from max import _interpreter_ops\n"
                             "from max._interpreter_ops import gc_compile\n"
                             "print(' '.join(f.name for f in gc_compile.registered_families()))"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert set(warmup.COURSE_FAMILIES) <= set(listed.stdout.split()), listed.stdout


@pytest.mark.parametrize("names", [[], ["no_such_family"], ["binary", "no_such_family"]])
def test_an_empty_or_unknown_list_hands_over_without_stamping(tmp_path, names):
    """On an empty MAX cache (MODULAR_CACHE_DIR), nothing compiles and nothing is stamped: the
    warm process exits NO_HOOK, and kata setup runs MAX's whole warm instead."""
    import os
    import subprocess

    from conftest import REPO

    done = subprocess.run([sys.executable, "-m", "checker.play.warm_course", *names], cwd=REPO,
                          env=dict(os.environ, MODULAR_CACHE_DIR=str(tmp_path)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == warmup.NO_HOOK, done.stdout + done.stderr
    assert not list(tmp_path.rglob("eager_gc_warm_stamp.json"))
