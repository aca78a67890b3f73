"""checker.check.service.check_kata, the one "check a kata" use case, on kata 1 (no MAX): the lock,
recording, first pass and the verdict that nobody edits afterwards."""

from __future__ import annotations

import dataclasses

import pytest

from checker.check.service import check_kata
from checker.check.verdict import FreshJudgement, Status
from checker.curriculum import load_curriculum
from checker.progress import ProgressStore
from conftest import place_solution


def _course(course):
    return load_curriculum(course), ProgressStore(course / ".kata")


def test_a_locked_kata_is_not_run_nor_recorded(course):
    curriculum, store = _course(course)
    events = []
    result = check_kata(curriculum, store, curriculum.get(2), on_event=lambda *e: events.append(e))
    assert result.status == Status.LOCKED and "pass kata 1 first" in result.message
    assert events == []  # nothing was run
    assert "2" not in store.load()["katas"]


def test_force_checks_a_locked_kata_and_records_it(course):
    curriculum, store = _course(course)
    result = check_kata(curriculum, store, curriculum.get(2), force=True)
    assert result.status == Status.FAIL  # the skeleton
    assert store.load()["katas"]["2"]["attempts"] == 1


def test_a_pass_is_recorded_once_as_the_first(course):
    curriculum, store = _course(course)
    place_solution(course, 1)
    events = []
    first = check_kata(curriculum, store, curriculum.get(1), on_event=lambda *e: events.append(e))
    again = check_kata(curriculum, store, curriculum.get(1))
    assert first.passed and first.first_pass and first.fresh_judgement == FreshJudgement.AGREED
    assert again.passed and not again.first_pass
    assert events[0][0] == "checking"
    assert store.load()["katas"]["1"]["attempts"] == 2


def test_without_a_store_nothing_is_recorded(course):
    """`kata dev verify`'s way: a given file, the reference solutions as earlier katas."""
    curriculum, store = _course(course)
    solution = course / curriculum.get(1).solution
    result = check_kata(curriculum, None, curriculum.get(1), learner_file=solution,
                        deps_dir=course / "katas")
    assert result.passed and not result.first_pass
    assert not (course / ".kata" / "progress.json").exists()


def test_the_verdict_is_final(course):
    curriculum, store = _course(course)
    result = check_kata(curriculum, store, curriculum.get(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = Status.PASS
    assert result.status == "fail" and str(result.status) == "fail" and f"{result.status}" == "fail"
