"""What hidden tests use: soft checks that report every mismatch, and MAX <-> numpy conversion.

Every failed check is recorded with its message (for the result file) and reported through
pytest-check, so one run lists all that is wrong, not just the first thing.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
from pytest_check import check

from checker import diagnose, fixture_files
from checker.child import plugin
from checker.child.staging import batched, lazily, to_tensor, weights_of  # noqa: F401 - the tests' too
from checker.paths import fixtures_dir
from checker.protocol import Env, StepMarker


_SAID: list[str] = []  # every failure expect() recorded in this check, in order
_ONCE: dict = {}


def expect(ok: bool, message: str) -> bool:
    if not ok:
        _SAID.append(message)
        plugin.record_message(message)
        check.fail(message)
    return bool(ok)


def note(message: str) -> None:
    """Something to show the learner under this test, pass or fail (e.g. the generated text)."""
    plugin.record_note(message)


@contextlib.contextmanager
def step(text: str):
    """`with step("reading the file with your load_gguf"):` says, on the check's live line, what
    a long test does now (the parent adds the seconds: checker/check/watchdog.py); afterwards the
    step around it, if any, is back. Outside a check (no status folder) it says nothing."""
    folder = os.environ.get(Env.STATUS_DIR)
    marker, before = (StepMarker(Path(folder)) if folder else None), None
    try:
        if marker:
            before = marker.now()
            marker.began(text)
    except OSError:  # the live line is a courtesy: a check never fails for it
        marker = None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if marker:
                marker.began(before or "")


def expect_close(what: str, actual, expected, atol: float = diagnose.ATOL,
                 rtol: float = diagnose.RTOL, mistakes: dict | None = None) -> bool:
    """Soft-checks a learner's output against a golden array; False (and a message) if off.
    When the output reproduces a known mistake, the message names it and its fix."""
    if actual is None:
        return False  # as_numpy already said why
    message = diagnose.compare(what, actual, expected, atol=atol, rtol=rtol)
    if message is not None and mistakes:
        advice = diagnose.recognise(actual, mistakes, atol=atol, rtol=rtol)
        if advice:
            message += f"\nThis is what happens when {advice}"
    return expect(message is None, message or "")


def root() -> Path:
    return Path(os.environ.get(Env.ROOT, ".")).resolve()


def fixture(name: str):
    """A verified golden fixture (numpy arrays or JSON) from fixtures/."""
    return fixture_files.load(fixtures_dir(root()), name)


tensor = to_tensor


def as_numpy(value, what: str):
    """The learner's result as numpy, or None after recording what kind of value it was instead."""
    from max.experimental.tensor import Tensor

    if isinstance(value, Tensor):
        from max.dtype import DType

        if value.dtype.is_float() and value.dtype != DType.float32:
            expect(False, f"{what}: your tensor is {value.dtype.name}; GPT-2 here computes in "
                          "float32. Keep every float tensor float32: build tensors from float32 "
                          "arrays (numpy defaults to float64) and do not cast.")
            return None
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


def load_named(module, state: dict, what: str, model: str, aliases: frozenset = frozenset()) -> bool:
    """Loads `model`'s weights (name -> MAX tensor) into the learner's module by name; explains a
    mismatch of names. `aliases`: names the model may hold twice (a tied head) that a module
    sharing one tensor need not list."""
    try:
        have = {name for name, _ in module.parameters}
    except Exception:  # noqa: BLE001
        return expect(False, f"{what} is not a MAX Module (it has no .parameters).")
    missing = sorted(set(state) - have - set(aliases))
    extra = sorted(have - set(state))
    if missing or extra:
        return expect(False, f"{what}'s parameter names do not match {model}'s. "
                      + (f"{model} has, and your module lacks: {', '.join(missing)}. " if missing else "")
                      + (f"Your module has, and {model} lacks: {', '.join(extra)}." if extra else ""))
    try:
        module.load_state_dict({k: v for k, v in state.items() if k in have})
    except Exception as exc:  # noqa: BLE001
        return expect(False, f"Loading {model}'s weights into {what} failed: {type(exc).__name__}: {exc}")
    return True


FAILED = object()  # what attempt() returns when the learner's code raised


def attempt(what: str, call):
    """Runs learner code; its result, or FAILED after recording the exception and its line."""
    from checker.child.learner_import import describe_exception, kata_files

    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the learner's exception becomes the message
        expect(False, f"{what} raised " + describe_exception(exc, kata_files(), root()))
        return FAILED


def run(what: str, call, batch: bool = True, sources=()):
    """Runs learner code that should return a Tensor; the numpy result, or None (recorded).
    With `batch`, its MAX operations run as one graph (see batched; `sources`: the weights the
    call reads, weights_of(model))."""
    value = attempt(what, (lambda: batched(call, sources)) if batch else call)
    return None if value is FAILED else as_numpy(value, what)


def once(key: str, make):
    """make() the first time a test of this check asks for `key`, the same value afterwards (e.g.
    a model built and loaded once per check, not once per test). The failures make() recorded
    are recorded again for every later test that asks, so each test still fails on its own."""
    if key in _ONCE:
        value, said = _ONCE[key]
        for message in said:
            expect(False, message)
        return value
    start = len(_SAID)
    value = make()
    _ONCE[key] = (value, _SAID[start:])
    return value


def build(what: str, factory):
    """Constructs a learner module; None (recorded, with the learner's line) if that raised."""
    from checker.child.learner_import import LearnerImportError, describe_exception, kata_files

    try:
        return lazily(factory)
    except LearnerImportError:
        raise
    except Exception as exc:  # noqa: BLE001
        expect(False, f"{what} raised " + describe_exception(exc, kata_files(), root()))
        return None


def ids_tensor(array: np.ndarray):
    """Token ids as an int64 MAX tensor."""
    return tensor(np.asarray(array, dtype=np.int64))


def outputs(what: str, call, name: str = "out", sources=()):
    """Fresh-input runners: {name: the numpy result of call()}, or None (recorded)."""
    value = run(what, call, sources=sources)
    return None if value is None else {name: value}


def expect_causal(module, x: np.ndarray, what: str) -> None:
    """Changing the last token must not change the outputs of the tokens before it."""
    changed = x.copy()
    changed[:, -1] = changed[:, -1][:, ::-1] * 3
    before = run(f"{what}(x)", lambda: module(tensor(x)))
    after = run(f"{what}(x with the last token changed)", lambda: module(tensor(changed)))
    if before is None or after is None or before.shape != after.shape:
        return
    leaked = diagnose.compare("", after[:, :-1], before[:, :-1], atol=1e-5, rtol=1e-5)
    expect(leaked is None, "Changing only the last token changed the outputs of earlier tokens: "
                           "they can see the future. Add the causal mask to the scores before softmax.")


def expect_batch_of_two(module, x: np.ndarray, expected: np.ndarray, what: str,
                        mistakes: dict | None = None) -> None:
    """The module on a batch of two (x and x reversed along its features): the first sequence
    must still be the expected output."""
    both = np.ascontiguousarray(np.concatenate([x, x[..., ::-1]], axis=0))
    out = run(f"{what}(x) on a batch of 2", lambda: module(tensor(both)))
    if out is not None and out.shape[:1] == (2,):
        expect_close(f"{what}(x), first sequence of a batch of 2", out[:1], expected, mistakes=mistakes)
    elif out is not None:
        expect(False, f"{what} on a batch of 2 returned shape {out.shape}; "
                      f"expected (2, {expected.shape[1]}, {expected.shape[2]}).")
