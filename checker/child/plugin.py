"""The pytest plugin inside a check's child process.

It applies the SIGINT speed fix before anything imports MAX, pins MAX to the CPU in float32,
records one result per hidden test, and at the very end writes the result file the parent reads.
No result file (a crash, os._exit, a kill) means "error" to the parent, never "pass".
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from checker.child import compiles, lifeline, sigint
from checker.protocol import Env, take, write_result

sigint.install()  # first thing: the plugin is loaded before any test module imports MAX
lifeline.tie_to_parent()  # started by the runner: end when `kata` ends

# Taken out of the environment before learner code runs, so it cannot simply read them there.
_RESULT_FILE = take(Env.RESULT_FILE)
_TOKEN = take(Env.TOKEN)
_FRESH_IN = take(Env.FRESH_IN)
_FRESH_OUT = take(Env.FRESH_OUT)
_RESULTS: list[dict] = []
_MESSAGES: dict[str, list[str]] = {}
_NOTES: dict[str, list[str]] = {}
_CURRENT: list[str] = []
_DEFAULTS = contextlib.ExitStack()
OUTPUT_LIMIT = 500  # characters of a test's printed output kept in the result
PRINT_LIMIT = 10 * 10**6  # a test that prints more than this fails: runaway output is a bug


def _for_current_test(store: dict[str, list[str]], message: str) -> None:
    if _CURRENT:
        store.setdefault(_CURRENT[-1], []).append(message)


def fresh_paths() -> tuple[Path, Path] | None:
    """Where the parent put this check's fresh inputs, and where their outputs go."""
    return (Path(_FRESH_IN), Path(_FRESH_OUT)) if _FRESH_IN and _FRESH_OUT else None


def record_message(message: str) -> None:
    """Called by checker.child.testkit.expect for a failed check in the running test."""
    _for_current_test(_MESSAGES, message)


def record_note(message: str) -> None:
    """Called by checker.child.testkit.note: shown under the running test, pass or fail."""
    _for_current_test(_NOTES, message)


def _use_cpu_float32() -> None:
    if os.environ.get(Env.USES_MAX) != "1":
        return
    status_dir = os.environ.get(Env.STATUS_DIR)
    if status_dir:  # the watchdog stops the check's clock while MAX compiles
        compiles.install(*compiles.report_to(Path(status_dir)))
    else:
        compiles.silence()
    if os.environ.get(Env.DEVICE, "cpu") == "cpu":
        from max.driver import CPU
        from max.dtype import DType
        from max.experimental.tensor import default_device, default_dtype

        _DEFAULTS.enter_context(default_device(CPU()))
        _DEFAULTS.enter_context(default_dtype(DType.float32))


def pytest_configure(config):
    _use_cpu_float32()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _CURRENT.append(item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.excinfo is not None:
        outcome.get_result()._kata_error = _explain(call.excinfo.value)


def _explain(exc: BaseException) -> str | None:
    """A learner-readable sentence for an exception that ended a hidden test."""
    from checker.child.learner_import import LearnerImportError, describe_exception, kata_files

    if isinstance(exc, LearnerImportError):
        return str(exc)
    if isinstance(exc, pytest.fail.Exception):
        return str(exc.msg)
    if isinstance(exc, (AssertionError, pytest.skip.Exception)):
        return None
    root = Path(os.environ.get(Env.ROOT, ".")).resolve()
    return "Your code raised " + describe_exception(exc, kata_files(), root)


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _record(report)


def _record(report) -> None:
    name = report.nodeid.split("::")[-1]
    if report.skipped:
        status = "skip"
    else:
        status = "pass" if report.passed else "fail"
    lines = list(_MESSAGES.get(report.nodeid, []))
    item_error = getattr(report, "_kata_error", None)
    if status == "fail" and not lines:
        lines.append(item_error or _short(report.longreprtext))
    output = (report.capstdout or "") + (report.capstderr or "")
    if len(output) > PRINT_LIMIT and status != "skip":
        status = "fail"
        lines = [f"Your code printed {len(output) / 1e6:.1f} MB during this test; a check allows "
                 f"{PRINT_LIMIT // 10**6} MB. Remove the print from your loop, or print less "
                 "(printing a whole tensor of logits is megabytes)."]
    _RESULTS.append({
        "name": name,
        "status": status,
        "message": "\n".join(lines) if status == "fail" else None,
        "output": output[:OUTPUT_LIMIT] if output else None,
        "notes": _NOTES.get(report.nodeid, []),
        "duration_s": round(report.duration, 3),
    })


def _short(text: str) -> str:
    """The last meaningful line of an unexpected failure (our frames are not the learner's)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    return (errors[-1][1:].strip() if errors else (lines[-1] if lines else "failed")).strip()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    if _CURRENT:
        _CURRENT.pop()


def pytest_collectreport(report):
    if report.failed:
        _RESULTS.append({"name": "collecting the hidden tests", "status": "error",
                         "message": _short(report.longreprtext), "output": None, "duration_s": 0})


def pytest_sessionfinish(session, exitstatus):
    path = _RESULT_FILE
    if not path:
        return
    write_result(path, _TOKEN, session.testscollected, int(exitstatus), _RESULTS)
