"""`kata progress --json`: who the learner is and where they stand, valid by
schemas/progress.schema.json; fast commands stay free of MAX, torch and transformers."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import jsonschema
import pytest

from checker.errors import EXIT_FAIL, EXIT_PASS
from checker.learner_info import git_identity
from conftest import KATAS, REPO, assert_no_traceback, kata_env, place_solution, run_kata_cli

SCHEMA = json.loads((REPO / "schemas" / "progress.schema.json").read_text())


def progress_json(course, *args) -> dict:
    code, out, err = run_kata_cli(course, "progress", "--json", *args)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    return data


def git(course, *args):
    subprocess.run(["git", *args], cwd=course, check=True, capture_output=True)


def test_fresh_course_with_a_name_given(course):
    data = progress_json(course, "--name", "Ada Lovelace", "--email", "ada@example.org")
    assert data["learner"] == {"name": "Ada Lovelace", "email": "ada@example.org"}
    assert data["passed"] == 0 and data["total"] == KATAS and len(data["katas"]) == KATAS
    assert [k["status"] for k in data["katas"][:2]] == ["ready", "locked"]
    # the name is kept, so later exports and class reports use it
    saved = json.loads((course / ".kata" / "progress.json").read_text())["learner"]
    assert saved["name"] == "Ada Lovelace" and saved["source"] == "option"
    assert progress_json(course)["learner"]["name"] == "Ada Lovelace"


def test_attempts_pass_hints_and_revealed_solution(course):
    assert run_kata_cli(course, "check", "1")[0] == EXIT_FAIL
    learner = place_solution(course, 1)
    assert run_kata_cli(course, "check", "1")[0] == EXIT_PASS
    assert run_kata_cli(course, "hint", "2")[0] == EXIT_PASS
    assert run_kata_cli(course, "solution", "2", "--reveal", "--yes")[0] == EXIT_PASS
    katas = {k["kata"]: k for k in progress_json(course)["katas"]}
    assert katas[1]["status"] == "passed" and katas[1]["attempts"] == 2
    assert katas[1]["last_result"] == "pass" and katas[1]["first_pass"]
    assert katas[1]["passed_sha256"] == hashlib.sha256(learner.read_bytes()).hexdigest()
    assert katas[2]["hints_used"] == 1 and katas[2]["solution_revealed"] is True
    assert katas[2]["status"] == "ready" and katas[2]["attempts"] == 0


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_name_from_git_config_and_recorded_by_check(course):
    git(course, "init", "-q")
    git(course, "config", "user.name", "Grace Hopper")
    git(course, "config", "user.email", "grace@example.org")
    assert git_identity(course) == {"name": "Grace Hopper", "email": "grace@example.org"}
    assert progress_json(course)["learner"]["name"] == "Grace Hopper"
    run_kata_cli(course, "check", "1")
    saved = json.loads((course / ".kata" / "progress.json").read_text())["learner"]
    assert saved == {"name": "Grace Hopper", "email": "grace@example.org", "source": "git"}
    # a name given on purpose wins over git's, and git does not overwrite it later
    progress_json(course, "--name", "G. Hopper")
    run_kata_cli(course, "check", "1")
    assert json.loads((course / ".kata" / "progress.json").read_text())["learner"]["name"] == "G. Hopper"


def test_no_git_is_no_name_not_a_failure(course, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert git_identity(course) == {}


def test_plain_progress_names_the_learner(course):
    code, out, err = run_kata_cli(course, "progress", "--name", "Ada")
    assert code == EXIT_PASS and "Learner: Ada" in out and f"0/{KATAS}" in out


@pytest.mark.parametrize("args", [["progress", "--json"], ["list"], ["hint", "1"],
                                  ["report", "."]])
def test_fast_commands_never_import_max_torch_or_transformers(course, args):
    """These must answer at once: the heavy libraries are for checks only."""
    (course / ".kata").mkdir(exist_ok=True)
    (course / ".kata" / "progress.json").write_text('{"version": 1, "katas": {}}')
    probe = ("import sys; from checker.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'max', 'torch', 'transformers'})\n"
             "print('HEAVY', heavy, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=course, env=kata_env(course),
                          capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in done.stderr, done.stdout + done.stderr


def test_a_kata_not_released_yet_locks_nothing_after_it(course):
    """Part 3 was released past a kata still being written: once Part 2 passes, the next
    released kata is ready (nobody can pass the one in between), the rest locked."""
    from checker.progress import ProgressStore, record_attempt
    from conftest import RELEASED

    with ProgressStore(course / ".kata").update() as progress:
        for number in range(1, 19):
            record_attempt(progress, number, "pass", "0" * 64)
    statuses = {k["kata"]: k["status"] for k in progress_json(course)["katas"]}
    later = [n for n in RELEASED if n > 18]
    assert all(statuses[n] == "passed" for n in range(1, 19))
    assert all(statuses[n] == "coming soon" for n in statuses if n not in RELEASED)
    if later:
        assert statuses[later[0]] == "ready" and all(statuses[n] == "locked" for n in later[1:])
