"""`kata dev verify`: the course's own soundness check, on a copy of the course."""

from __future__ import annotations

import shutil

from checker.errors import EXIT_FAIL, EXIT_PASS
from conftest import assert_no_traceback, run_kata_cli


def test_verify_the_real_course(course):
    """Every kata of the course: fixtures verify, skeleton fails, solution passes."""
    code, out, err = run_kata_cli(course, "dev", "verify", timeout=1800)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert out.count("skeleton fails, solution passes") == 12, out
    assert "FAILED" not in out
    assert not (course / ".kata" / "progress.json").exists()  # verifying records no progress


def test_verify_catches_a_solution_that_does_not_pass(course):
    shutil.copyfile(course / "katas" / "step_01.py", course / "checker" / "solutions" / "step_01.py")
    code, out, err = run_kata_cli(course, "dev", "verify", "1")
    assert_no_traceback(out, err)
    assert code == EXIT_FAIL, out + err
    assert "FAILED" in out
    assert "checker/solutions/step_01.py should pass" in out, out
    assert "n_head" in out  # and says which check it fails


def test_verify_catches_a_skeleton_that_passes(course):
    shutil.copyfile(course / "checker" / "solutions" / "step_01.py", course / "katas" / "step_01.py")
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
