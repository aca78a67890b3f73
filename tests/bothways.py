"""What the tests that prove the checker in both directions share (tests/test_part2_katas.py,
test_kv_cache_kata.py, test_part3_katas.py): a learner file checked the way `kata check` checks
it (it replaces the kata's file in the real course, the earlier katas coming from the reference
solutions), and the two verdicts: a correct file passes; a mistake fails, by its name."""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path

from checker.curriculum import load_curriculum
from checker.check.runner import run_kata
from checker.dev.verify import solution_katas
from conftest import LEARNERS, REPO, mutate


@functools.lru_cache(maxsize=None)
def solutions() -> Path:
    """A katas/ folder of the reference solutions, made once per test process."""
    return solution_katas(load_curriculum(REPO), Path(tempfile.mkdtemp(prefix="kata-solutions-")))


def check(number: int, learner_file: Path):
    """The checker's result for learner_file as kata `number`."""
    curriculum = load_curriculum(REPO)
    return run_kata(curriculum, curriculum.get(number), learner_file=learner_file,
                    deps_dir=solutions())


def learner_file(number: int, learner: str, mutants: dict) -> Path:
    """tests/learners/LEARNER, or the mutant of kata NUMBER's solution that `mutants` names
    (file name -> ([(old, new), ...], what the check must say))."""
    if learner not in mutants:
        return LEARNERS / learner
    return mutate(number, mutants[learner][0], Path(tempfile.mkdtemp(prefix="kata-mutant-")))


def describe(result) -> str:
    return f"{result.status}: {result.message}\n" + "\n".join(
        f"{t['name']}: {t.get('message')}" for t in result.tests if t["status"] != "pass")


def assert_passes(result) -> None:
    assert result.status == "pass", describe(result)


def assert_fails_by_name(result, name: str, text: str | None = None) -> None:
    """A fail (not an error), every failing line with a message, and the mistake's name (a regular
    expression) in `text` (default: the whole verdict)."""
    assert result.status == "fail", describe(result)
    failures = [t for t in result.tests if t["status"] != "pass"]
    assert failures and all(t.get("message") for t in failures), describe(result)
    assert re.search(name, describe(result) if text is None else text), describe(result)


def kata_tests(number: int, correct: list[str], mutants: dict):
    """The four tests of a kata's both-ways file, to bind at its top level: its reference solution
    passes and the parent agrees; its untouched skeleton fails cleanly; each file of `correct`
    (in tests/learners/) passes; each of `mutants` fails by its name, without a traceback. Each
    learner file is checked once per test process (a mutant may be asked about again)."""
    import pytest

    @functools.lru_cache(maxsize=None)
    def checked(learner: str):
        return check(number, learner_file(number, learner, mutants))

    def test_the_reference_solution_passes():
        result = check(number, REPO / load_curriculum(REPO).get(number).solution)
        assert_passes(result)
        assert result.fresh_judgement == "agreed", describe(result)

    def test_the_skeleton_fails():
        result = check(number, REPO / load_curriculum(REPO).get(number).file)
        assert result.status == "fail", describe(result)
        assert "Traceback" not in describe(result)

    @pytest.mark.parametrize("learner", correct, ids=[c[:-3] for c in correct])
    def test_correct_but_different_passes(learner):
        result = checked(learner)
        assert_passes(result)
        assert result.fresh_judgement == "agreed", describe(result)

    @pytest.mark.parametrize("learner", sorted(mutants), ids=[m[:-3] for m in sorted(mutants)])
    def test_mistake_fails_by_name(learner):
        result = checked(learner)
        assert_fails_by_name(result, mutants[learner][1])
        assert "Traceback" not in describe(result)

    return checked, (test_the_reference_solution_passes, test_the_skeleton_fails,
                     test_correct_but_different_passes, test_mistake_fails_by_name)


def spec_of(number: int):
    """Kata NUMBER's spec module (fresh inputs and the parent's judgement), as the checker loads it."""
    from checker.check import fresh

    return fresh.spec_of(load_curriculum(REPO).get(number))
