"""Fresh inputs made up at check time, and the parent's own judgement of the learner's outputs.

The hidden tests explain mistakes on the golden inputs, inside the child process, where the
learner's code runs too and could patch them. This is the guard it cannot forge: the parent
draws new inputs for every check, the child only runs the learner's code on them and saves what
comes back, and the parent compares that with a numpy reference of the model family (checker/
models/, which the test suite proves equal to Hugging Face on the golden data). Patching the
comparison, faking the result file or returning the golden outputs cannot produce these numbers.

What to draw, how to run the learner's code and what is right are the kata's own: its folder's
spec.py, with three functions (and optionally prepare(say) -> environment for the child):
    draw(rng, fixtures_dir) -> inputs                  (parent, numpy only)
    run(learner, inputs) -> outputs | None             (child, may use MAX)
    judge(inputs, outputs, fixtures_dir) -> problem    (parent, numpy only; None when right)
A spec whose right answer takes the parent seconds (a real model's forward) may also define
    answer(inputs, fixtures_dir) -> expected           (parent, numpy only; needs no outputs)
and take it as judge(inputs, outputs, fixtures_dir, expected=None): the check then works it out in
a thread of the parent while the child runs (anticipate), instead of after it.
Everything here is numpy: the parent never imports MAX.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from types import ModuleType

import numpy as np

from checker import diagnose
from checker.curriculum import Kata


def spec_of(kata: Kata) -> ModuleType:
    """The kata folder's spec module."""
    return importlib.import_module(kata.package + ".spec")


def prepare(kata: Kata, say) -> dict[str, str]:
    """What the kata needs before its check starts (e.g. a model file, fetched once and said so
    through say(text)), as environment variables for the child; most katas need nothing."""
    prepare_kata = getattr(spec_of(kata), "prepare", None)
    return prepare_kata(say) if prepare_kata else {}


def make_inputs(kata: Kata, fixtures_dir: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """New inputs for this kata: shapes, values and layers nobody has seen before."""
    return spec_of(kata).draw(rng, fixtures_dir)


class Anticipated:
    """The spec's answer(inputs, fixtures_dir), worked out in a thread of the parent while the
    child runs; get() waits for it and raises what it raised."""

    def __init__(self, work):
        self._result, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _run(self, work) -> None:
        try:
            self._result = work()
        except BaseException as exc:  # noqa: BLE001 - raised again, in the judgement, by get()
            self._error = exc

    def get(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def anticipate(kata: Kata, inputs: dict, fixtures_dir: Path) -> Anticipated | None:
    """The parent's own answer to `inputs`, started now (None: the spec has no answer())."""
    answer = getattr(spec_of(kata), "answer", None)
    return Anticipated(lambda: answer(inputs, fixtures_dir)) if answer else None


def judge(kata: Kata, inputs: dict, outputs: dict, fixtures_dir: Path,
          anticipated: Anticipated | None = None) -> str | None:
    """None when the learner's outputs on the fresh inputs are right; else what is wrong."""
    if anticipated is None:
        return spec_of(kata).judge(inputs, outputs, fixtures_dir)
    return spec_of(kata).judge(inputs, outputs, fixtures_dir, expected=anticipated.get())


def judge_tensors(expected: dict[str, np.ndarray], outputs: dict, model: str = "GPT-2",
                  atol: float = diagnose.ATOL, rtol: float = diagnose.RTOL) -> str | None:
    """The usual judgement: every expected tensor came back, in float32, within tolerance."""
    for name, want in expected.items():
        got = outputs.get(name)
        if got is None:
            return f"no output named {name!r} came back"
        problem = dtype_problem(name, got, np.float32, model) or diagnose.compare(name, got, want, atol, rtol)
        if problem:
            return problem
    return None


def dtype_problem(name: str, got: np.ndarray, want, model: str = "GPT-2") -> str | None:
    if got.dtype != want:
        return f"{name} is {got.dtype}; {model} here computes in {np.dtype(want)}."
    return None
