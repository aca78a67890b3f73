"""`kata dev verify`: the course's own soundness check, on a copy of the course."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from checker.errors import EXIT_FAIL, EXIT_PASS
from checker.play.warmup import COURSE_FAMILIES
from checker.progress import ProgressStore, passed_numbers
from conftest import AVAILABLE, REPO, assert_no_traceback, kata_env, run_kata_cli, solution_path

sys.path.insert(0, str(REPO / "bench"))
import family_recorder  # noqa: E402 - bench/ is no package


def test_verify_while_another_verify_and_a_check_run(course):
    """The whole course verified while a second `kata dev verify` (of the first three katas) and
    a learner's check of the skeleton run at the same time: every kata sound (fixtures verify,
    skeleton fails, solution passes), nothing recorded by verifying, and the progress file whole,
    with exactly the learner's two attempts. (The second run verifies three katas, not the
    course: the race on the progress file is the same, at a third of the suite's time.)"""
    assert run_kata_cli(course, "check", "1")[0] == EXIT_FAIL  # the skeleton: one attempt
    families = course / "families.log"  # which MAX op families the whole course's checks use
    recorder = {"PYTEST_PLUGINS": "family_recorder", family_recorder.LOG: str(families),
                "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), os.environ.get("PYTHONPATH", "")])}
    runs = [_start(course, "dev", "verify", extra=recorder),
            _start(course, "dev", "verify", "1", "2", "3")]
    check = _start(course, "check", "1")
    outputs = [proc.communicate(timeout=1800) for proc in runs + [check]]
    for proc, (out, err), katas in zip(runs, outputs, (AVAILABLE, 3)):
        assert_no_traceback(out, err)
        assert proc.returncode == EXIT_PASS, out + err
        assert out.count("skeleton fails, solution passes") == katas, out
        assert "FAILED" not in out
    assert check.returncode == EXIT_FAIL, outputs[-1]
    store = ProgressStore(course / ".kata")
    progress = store.load()
    assert not store.notices
    assert passed_numbers(progress) == set()  # verifying records no progress
    assert progress["katas"]["1"]["attempts"] == 2
    assert store.backup.read_text() == store.path.read_text()
    # `kata setup` compiles every op family the reference solutions use (checker/play/warmup.py)
    used = family_recorder.read(families)
    assert {"matmul", "reduce_axis"} <= used, used  # the recorder saw the checks
    assert used <= set(COURSE_FAMILIES), f"kata setup does not compile {sorted(used - set(COURSE_FAMILIES))}"


def _start(course, *args, extra: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from checker.cli import main; main()", *args],
                            cwd=course, env={**kata_env(course), **(extra or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def test_verify_catches_a_solution_that_does_not_pass(course):
    shutil.copyfile(course / "katas" / "step_01.py", solution_path(1, course))
    code, out, err = run_kata_cli(course, "dev", "verify", "1")
    assert_no_traceback(out, err)
    assert code == EXIT_FAIL, out + err
    assert "FAILED" in out
    assert "checker/course/kata01_config/solution.py should pass" in out, out
    assert "n_head" in out  # and says which check it fails


def test_verify_catches_a_skeleton_that_passes(course):
    shutil.copyfile(solution_path(1, course), course / "katas" / "step_01.py")
    code, out, err = run_kata_cli(course, "dev", "verify", "1")
    assert_no_traceback(out, err)
    assert code == EXIT_FAIL, out + err
    assert "katas/step_01.py should fail" in out, out


def test_verify_catches_a_damaged_fixture(course):
    path = course / "fixtures" / "golden" / "step_01.json"
    path.write_text(path.read_text().replace("12", "16", 1))
    code, out, err = run_kata_cli(course, "dev", "verify", "1")
    assert_no_traceback(out, err)
    assert code == EXIT_FAIL, out + err
    assert "step_01.json" in out and "git checkout" in out
