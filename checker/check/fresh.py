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
Everything here is numpy: the parent never imports MAX.
"""

from __future__ import annotations

import importlib
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


def judge(kata: Kata, inputs: dict, outputs: dict, fixtures_dir: Path) -> str | None:
    """None when the learner's outputs on the fresh inputs are right; else what is wrong."""
    return spec_of(kata).judge(inputs, outputs, fixtures_dir)


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
