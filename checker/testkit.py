"""What hidden tests use: soft checks that report every mismatch, and MAX <-> numpy conversion.

Every failed check is recorded with its message (for the result file) and reported through
pytest-check, so one run lists all that is wrong, not just the first thing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pytest_check import check

from checker import diagnose, golden, plugin


def expect(ok: bool, message: str) -> bool:
    if not ok:
        plugin.record_message(message)
        check.fail(message)
    return bool(ok)


def expect_close(what: str, actual, expected, atol: float = diagnose.ATOL,
                 rtol: float = diagnose.RTOL) -> bool:
    """Soft-checks a learner's output against a golden array; False (and a message) if off."""
    if actual is None:
        return False  # as_numpy already said why
    message = diagnose.compare(what, actual, expected, atol=atol, rtol=rtol)
    return expect(message is None, message or "")


def root() -> Path:
    return Path(os.environ.get("KATA_ROOT", ".")).resolve()


def fixture(name: str):
    """A verified golden fixture (numpy arrays or JSON) from fixtures/."""
    return golden.load(root() / "fixtures", name)


def tensor(array: np.ndarray):
    """A MAX Tensor on the CPU holding a copy of `array`."""
    from max.driver import CPU
    from max.experimental.tensor import Tensor

    return Tensor.from_dlpack(np.ascontiguousarray(array)).to(CPU())


def as_numpy(value, what: str):
    """The learner's result as numpy, or None after recording what kind of value it was instead."""
    from max.experimental.tensor import Tensor

    if isinstance(value, Tensor):
        try:
            return value.to_numpy()
        except Exception as exc:  # noqa: BLE001 - realizing learner graphs can fail any way
            expect(False, f"{what}: computing your tensor failed: {type(exc).__name__}: {exc}")
            return None
    if value is None:
        expect(False, f"{what}: your code returned None. Did you forget a `return` statement?")
    elif isinstance(value, np.ndarray):
        expect(False, f"{what}: your code returned a numpy array; return a MAX Tensor "
                      "(max.experimental.tensor.Tensor) so the model stays in MAX.")
    else:
        expect(False, f"{what}: expected a MAX Tensor, got {type(value).__name__}.")
    return None
