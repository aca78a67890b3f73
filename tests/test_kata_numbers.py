"""Katas 2 and 3 (MAX): right answers pass however they are written; wrong ones fail, saying how.

These run MAX in the check's child process: a few seconds each once MAX's kernels are compiled
on this machine (`kata setup`), minutes the first time.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from checker.curriculum import load_curriculum
from checker.check.runner import run_kata
from conftest import REPO, place_learner, place_solution


def _check(course, number: int, learner: str | None):
    if learner is None:
        place_solution(course, number)
    else:
        place_learner(course, learner)
    curriculum = load_curriculum(course)
    return run_kata(curriculum, curriculum.get(number))


def _failures(result) -> dict[str, str]:
    return {t["name"]: t.get("message") or "" for t in result.tests if t["status"] != "pass"}


def _describe(result) -> str:
    return f"{result.status}: {result.message}\n" + "\n".join(
        f"{name}: {message}" for name, message in _failures(result).items())


@pytest.mark.parametrize("number,learner", [
    (2, None), (2, "step_02_numpy_built.py"),
    (3, None), (3, "step_03_by_hand.py"),
], ids=["mask-solution", "mask-numpy-minus-1e9", "ln-solution", "ln-by-hand"])
def test_correct_code_passes(course, number, learner):
    result = _check(course, number, learner)
    assert result.status == "pass", _describe(result)
    assert result.tests and all(t["status"] == "pass" for t in result.tests)


def _assert_fails_saying(result, *patterns: str) -> str:
    assert result.status == "fail", _describe(result)
    failures = _failures(result)
    assert failures, _describe(result)
    assert all(failures.values()), failures  # every failed test says why
    text = "\n".join(failures.values())
    for pattern in patterns:
        assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"
    return text


def test_transposed_mask(course):
    result = _check(course, 2, "step_02_transposed.py")
    _assert_fails_saying(result, r"future keys at \[0, 1\]", "transposed", r"values differ")
    assert "seq1_past0" not in "".join(_failures(result))  # a 1x1 mask is the same either way


def test_mask_that_ignores_num_tokens(course):
    result = _check(course, 2, "step_02_ignores_num_tokens.py")
    _assert_fails_saying(result, r"shape \(4, 4\); expected \(4, 7\)")
    # only the case with earlier tokens in the cache is wrong
    assert list(_failures(result)) == ["test_visibility_matches_gpt2[seq4_past3]"]


def test_mask_returned_as_numpy(course):
    result = _check(course, 2, "step_02_returns_numpy.py")
    _assert_fails_saying(result, "numpy array", "MAX Tensor")
    assert len(_failures(result)) == len(result.tests)


def _ln_shape() -> tuple[int, ...]:
    with np.load(REPO / "fixtures" / "golden" / "step_03.npz") as data:
        return tuple(data["x"].shape)


def _last_row() -> str:
    """Where the golden input's near-constant vector (the one eps matters for) sits."""
    batch, seq, dim = _ln_shape()
    return rf"at \(0, {seq - 1}, \d+\)"


@pytest.mark.parametrize("learner,patterns", [
    ("step_03_wrong_eps.py", [r"values differ", r"Largest error \d", "LAST_ROW"]),
    ("step_03_no_bias.py", [r"values differ", r"Largest error \d", r"at \(0, 0, 0\)"]),
    ("step_03_unbiased_var.py", [r"values differ", r"Largest error \d"]),
], ids=["wrong-eps", "no-bias", "unbiased-variance"])
def test_wrong_layer_norm_numbers(course, learner, patterns):
    patterns = [_last_row() if p == "LAST_ROW" else p for p in patterns]
    result = _check(course, 3, learner)
    text = _assert_fails_saying(result, *patterns)
    assert "test_matches_gpt2_ln_1" in _failures(result)
    # the reported largest error is above the tolerance the message names
    found = re.findall(r"tolerance ([\d.e+-]+) \+ [^)]*\)\. Largest error ([\d.e+-]+)", text)
    assert found, text
    for tolerance, error in found:
        assert float(error) > float(tolerance)


def test_layer_norm_of_the_wrong_shape(course):
    batch, seq, dim = _ln_shape()
    result = _check(course, 3, "step_03_wrong_shape.py")
    _assert_fails_saying(result, re.escape(f"expected shape ({batch}, {seq}, {dim}), "
                                           f"got ({batch}, {seq}, 1)"))
