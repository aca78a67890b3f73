"""The `kata` command end to end, as a learner runs it, on a copy of the course."""

from __future__ import annotations

import hashlib
import json

import pytest

from checker.curriculum import load_curriculum
from checker.errors import EXIT_FAIL, EXIT_LOCKED, EXIT_PASS, EXIT_SETUP
from conftest import KATAS, REPO, assert_no_traceback, place_solution, run_kata_cli

FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")


def kata(course, *args):
    """Runs `kata ARGS`; no command may ever show a Python traceback."""
    code, out, err = run_kata_cli(course, *args)
    assert_no_traceback(out, err)
    return code, out, err


def _progress(course) -> dict:
    return json.loads((course / ".kata" / "progress.json").read_text(encoding="utf-8"))


def test_skeleton_fails_then_solution_passes_and_unlocks(course):
    code, out, err = kata(course, "check", "1")
    assert code == EXIT_FAIL, out + err
    for field in FIELDS:
        assert f"{field} is None" in out, out
    assert "FAIL" in out and "kata hint 1" in out
    record = _progress(course)["katas"]["1"]
    assert record["attempts"] == 1 and record["status"] == "fail" and record["first_pass"] is None

    learner = place_solution(course, 1)
    code, out, err = kata(course, "check", "1")
    assert code == EXIT_PASS, out + err
    assert "PASS" in out and "Kata 2 unlocked" in out, out
    record = _progress(course)["katas"]["1"]
    assert record["status"] == "pass" and record["attempts"] == 2 and record["first_pass"]
    assert record["passed_sha256"] == hashlib.sha256(learner.read_bytes()).hexdigest()

    # a second pass is not a new unlock
    code, out, err = kata(course, "check", "1")
    assert code == EXIT_PASS and "unlocked" not in out
    assert _progress(course)["katas"]["1"]["first_pass"] == record["first_pass"]

    code, out, err = kata(course, "list")
    assert code == EXIT_PASS and f"1/{KATAS}" in out and "passed" in out

    code, out, err = kata(course)  # no command: where am I?
    assert code == EXIT_PASS and "Current kata: 2" in out and f"1/{KATAS}" in out


def test_locked_kata(course):
    code, out, err = kata(course, "check", "3")
    assert code == EXIT_LOCKED, out + err
    assert "locked" in out and "kata 2" in out
    assert not (course / ".kata" / "progress.json").exists() or \
        "3" not in _progress(course)["katas"]


def test_a_kata_not_released_yet_is_skipped_by_the_lock(course):
    """Kata 20 waits on the last released kata before it (18 while 19 is being written)."""
    from checker.progress import ProgressStore, record_attempt
    from conftest import RELEASED

    before = max(n for n in RELEASED if n < 20)
    with ProgressStore(course / ".kata").update() as progress:
        for number in range(1, before - 1):
            record_attempt(progress, number, "pass", "0" * 64)
    code, out, err = kata(course, "check", "20")
    assert code == EXIT_LOCKED, out + err
    assert f"pass kata {before} first" in out and f"`kata check {before}`" in out, out


def test_locked_kata_with_force_runs(course):
    code, out, err = kata(course, "check", "3", "--force")
    assert code == EXIT_FAIL, out + err  # the untouched skeleton runs, and fails
    assert "locked" not in out and "FAIL" in out
    assert _progress(course)["katas"]["3"]["attempts"] == 1


def _unreleased_from(course, first: int):
    """The course as an instructor might ship it part-way: katas >= first not yet available."""
    path = course / "curriculum.yaml"
    text = path.read_text()
    for number in range(first, 13):
        text = text.replace(f"  - number: {number}\n", f"  - number: {number}\n    available: false\n")
    path.write_text(text)
    return course


@pytest.mark.parametrize("number,words", [("99", "no kata 99"), ("5", "not available"),
                                          ("0", "no kata 0")])
def test_kata_that_cannot_be_checked(course, number, words):
    _unreleased_from(course, 5)
    code, out, err = kata(course, "check", number)
    assert code == EXIT_SETUP
    assert words in out + err


def test_check_json(course):
    code, out, err = kata(course, "check", "1", "--json")
    assert code == EXIT_FAIL
    data = json.loads(out)  # nothing but the JSON on stdout
    # Exercism's results shape (version 3) with Classroom's scores; the earlier fields stay
    # (the full schema is checked in test_check_json.py)
    assert {"version", "status", "message", "tests", "score", "max_score"} <= set(data)
    assert {"kata", "slug", "status", "tests", "duration_s", "checker_version"} <= set(data)
    assert data["kata"] == 1 and data["slug"] == "config" and data["status"] == "fail"
    assert data["version"] == 3 and data["score"] == 0 and data["max_score"] == 1
    assert isinstance(data["duration_s"], (int, float)) and data["duration_s"] > 0
    names = {t["name"]: t for t in data["tests"]}
    assert names["test_defaults_are_gpt2_small"]["status"] == "fail"
    assert "n_head is None" in names["test_defaults_are_gpt2_small"]["message"]

    place_solution(course, 1)
    code, out, err = kata(course, "check", "1", "--json")
    assert code == EXIT_PASS and json.loads(out)["status"] == "pass" and json.loads(out)["score"] == 1


def test_hints_get_stronger_then_stay(course):
    expected = load_curriculum(REPO).get(1).hints
    shown = []
    for _ in range(4):
        code, out, err = kata(course, "hint", "1")
        assert code == EXIT_PASS
        shown.append(next(h for h in expected if h in out))
    assert shown[:3] == list(expected) and len(set(shown[:3])) == 3
    assert shown[3] == shown[2]
    assert _progress(course)["katas"]["1"]["hints_shown"] == 3


def test_hint_for_unavailable_kata(course):
    _unreleased_from(course, 5)
    code, out, err = kata(course, "hint", "7")
    assert code == EXIT_SETUP and "not available" in err


def test_list_of_a_fresh_course(course):
    _unreleased_from(course, 5)
    code, out, err = kata(course, "list")
    assert code == EXIT_PASS
    assert f"0/{KATAS}" in out and "coming soon" in out and "locked" in out
    assert not (course / ".kata" / "progress.json").exists()  # looking changes nothing


def test_corrupt_progress_file(course):
    state = course / ".kata"
    state.mkdir()
    (state / "progress.json").write_text('{"version": 1, "katas": {"1": ')
    code, out, err = kata(course, "list")
    assert code == EXIT_PASS and f"0/{KATAS}" in out
    assert "could not be read" in err and "progress.json.corrupt-" in err

    code, out, err = kata(course, "check", "1")
    assert code == EXIT_FAIL  # the same verdict as with a healthy file
    assert "could not be read" not in err  # set aside once, reported once
    assert _progress(course)["katas"]["1"]["attempts"] == 1  # a valid file again
    assert list(state.glob("progress.json.corrupt-*"))

    code, out, err = kata(course, "list")
    assert code == EXIT_PASS and "could not be read" not in err


def test_unknown_command_and_option(course):
    code, out, err = kata(course, "chek", "1")
    assert code == EXIT_SETUP and "chek" in err
    code, out, err = kata(course, "check", "one")
    assert code == EXIT_SETUP


def test_help_names_the_whole_course_and_every_command(course):
    """`kata --help`'s first line is the course (language models, not GPT-2 alone), and every
    command group registered by checker/cli/ is listed."""
    code, out, err = kata(course, "--help")
    assert code == EXIT_PASS
    assert "Build language models from scratch with MAX" in out and "Build GPT-2" not in out
    for command in ("check", "list", "hint", "solution", "reset", "watch", "progress", "run", "chat",
                    "setup", "report", "dev"):
        assert f"  {command} " in out, command


def test_failure_caused_by_an_earlier_kata_names_it(course):
    """Kata 8 runs the learner's kata 3 LayerNorm; breaking kata 3 after it passed is blamed on 3."""
    place_solution(course, 3)
    code, out, err = kata(course, "check", "3", "--force")
    assert code == EXIT_PASS, out + err
    place_solution(course, 8)
    step_03 = course / "katas" / "step_03.py"
    step_03.write_text(step_03.read_text().replace("beta=self.bias,", "beta=self.bias * 0,"))
    code, out, err = kata(course, "check", "8", "--force")
    assert code == EXIT_FAIL, out + err
    assert "kata 3 (Layer normalization, katas/step_03.py) does not pass any more" in " ".join(out.split())
    assert "kata check 3" in out
    code, out, err = kata(course, "check", "8", "--force", "--json")
    assert "kata 3" in json.loads(out)["message"]


def test_hint_all_shows_every_hint(course):
    code, out, err = kata(course, "hint", "2", "--all")
    assert code == EXIT_PASS, out + err
    assert "Hint 1 of 3" in out and "Hint 3 of 3" in out
    assert _progress(course)["katas"]["2"]["hints_shown"] == 3


def test_solution_hidden_until_passed_or_revealed(course):
    code, out, err = kata(course, "solution", "1")
    assert code == EXIT_SETUP and "has not passed yet" in err and "GPT2Config" not in out
    code, out, err = kata(course, "solution", "1", "--reveal", "--yes")
    assert code == EXIT_PASS and "class GPT2Config" in out
    assert _progress(course)["katas"]["1"]["solution_revealed"]


def test_solution_shown_after_a_pass(course):
    place_solution(course, 1)
    assert kata(course, "check", "1")[0] == EXIT_PASS
    code, out, err = kata(course, "solution", "1")
    assert code == EXIT_PASS and "class GPT2Config" in out
    assert "solution_revealed" not in _progress(course)["katas"]["1"]
