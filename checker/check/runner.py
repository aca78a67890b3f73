"""Runs one kata's hidden tests in a child process under a time limit and reads its verdict.

The verdict comes only from the result file the child's plugin writes at the very end, checked
against a fresh random token: a crash, os._exit(0), sys.exit(0) or a kill leaves no valid file
and is an "error", never a pass. The child works on a private copy of the course (sandbox.py),
under the watchdog's limits (watchdog.py), and a pass it reports stands only if the parent's own
judgement of the learner's outputs on fresh inputs agrees (fresh.py).
The verdict is built once, at the end (verdict.py).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from checker import protocol
from checker.check import sandbox, watchdog
from checker.check.verdict import CHILD_TEST, CheckResult, FreshJudgement, Status
from checker.curriculum import Curriculum, Kata
from checker.fixture_files import file_sha256
from checker.paths import fixtures_dir
from checker.protocol import Env
from checker.syntax import syntax_problem

TAIL_CHARS = 1500
FRESH_TEST = "check_fresh_inputs.py"
# The live line while the parent judges (said only if that takes more than a second).
JUDGING = "checking your outputs on the inputs made up for this check, out of your code's reach"


@dataclass
class _ChildReport:
    """What the child's result file says, before the parent's own judgement."""
    status: Status
    message: str | None
    tests: list[dict] = field(default_factory=list)


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_CHARS))
            return handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def run_kata(curriculum: Curriculum, kata: Kata, *, learner_file: Path | None = None,
             deps_dir: Path | None = None, on_event: Callable[[str, str], None] | None = None,
             time_limit_s: float | None = None) -> CheckResult:
    """Checks `learner_file` (default: the learner's own file for this kata). The mechanics of
    one check only: the lock, fixtures, blame and progress are the check service's (service.py)."""
    root = curriculum.root
    learner_file = (learner_file or root / kata.file).resolve()
    deps_dir = (deps_dir or (root / kata.file).parent).resolve()
    limit = time_limit_s or kata.time_limit_s
    sha = file_sha256(learner_file)
    started = time.monotonic()

    def verdict(status: Status, message: str | None, **fields) -> CheckResult:
        return CheckResult(kata.number, kata.slug, status, message, sha256=sha,
                           duration_s=round(time.monotonic() - started, 2), **fields)

    if sha is None:
        return verdict(Status.ERROR, f"{kata.file} is missing. Restore it with "
                                     f"`git checkout -- {kata.file}`.")
    syntax = syntax_problem(learner_file, root)
    if syntax:  # said at once, before MAX or pytest start
        return verdict(Status.ERROR, syntax)
    with tempfile.TemporaryDirectory(prefix="kata-check-") as tmp:
        tmp = Path(tmp)
        token = secrets.token_hex(16)
        result_file = tmp / "result.json"
        fresh_in, fresh_out = tmp / "fresh_inputs.npz", tmp / "fresh_outputs.npz"
        fixtures = fixtures_dir(root)
        inputs = _fresh_inputs(kata, fixtures, fresh_in)
        box = sandbox.build(tmp, root, fixtures, kata.fixtures, learner_file, deps_dir, kata.file)
        log_file = tmp / "output.log"
        env = _child_env(root, kata, box, tmp, token, result_file, fresh_in, fresh_out)
        env.update(_prepared(kata, on_event))
        anticipated = _anticipate(kata, inputs, fixtures)  # the parent's answer, while the child runs
        hidden = root / kata.tests
        course = (root / kata.folder).parent  # the folder of all kata folders: shared test config
        command = [sys.executable, "-m", "pytest", str(hidden), str(course / FRESH_TEST),
                   "-c", str(course / "pytest.ini"), "--rootdir", str(course),
                   "-p", "pytest_check.plugin", "-p", "checker.child.plugin", "-q", "--no-header",
                   "-rN", "--tb=short", "--show-capture=no"]  # the plugin keeps what a test printed
        with open(log_file, "wb") as log:
            proc = subprocess.Popen(command, cwd=box.root, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_outright_from_start())
        try:
            watched = watchdog.wait(proc, started + limit, tmp, log_file, on_event)
        except BaseException:
            watchdog.kill_group(proc)  # Ctrl-C in the checker: leave nothing running behind
            raise
        if watched.stopped:
            return verdict(Status.TIMEOUT if watched.stopped == "timeout" else Status.ERROR,
                           _stopped_message(watched, limit), compile_s=watched.compile_s)
        child = _read_child_report(result_file, token, proc.returncode, log_file)
        judgement, margin = FreshJudgement.NOT_JUDGED, None
        if child.status == Status.PASS:
            with watchdog.parent_step(on_event, JUDGING):
                problem, margin = _judge_fresh(kata, inputs, fresh_out, fixtures, anticipated)
            judgement = FreshJudgement.DISAGREED if problem else FreshJudgement.AGREED
            if problem:
                child = _failed_on_fresh_inputs(child, problem)
        status, message = child.status, box.unbox(child.message)
        tests = [dict(test, message=box.unbox(test.get("message")),
                      output=box.unbox(test.get("output"))) for test in child.tests]
        written = box.writes()
        if written:
            status, message = Status.ERROR, _wrote_message(written)
        return verdict(status, message, tests=tests, compile_s=watched.compile_s,
                       fresh_judgement=judgement, fresh_margin=margin)


def _outright_from_start():
    """A preexec_fn that has the kernel kill the child outright (SIGKILL) when this process dies,
    from before its first instruction, when Env.PARENT_DEATH asks for it: the warm-up's checks,
    which it may stop (SIGSTOP) before they reach checker/child/lifeline.py, and a stopped
    process cannot act on its own. None otherwise, or where Linux's prctl is missing. It only
    calls a C function resolved here, so it is safe in the forked child."""
    if os.environ.get(Env.PARENT_DEATH) != "kill":
        return None
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (AttributeError, OSError):
        return None

    def kill_me_with_parent() -> None:
        prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG, from <linux/prctl.h>
    return kill_me_with_parent


def _stopped_message(watched: watchdog.Outcome, limit: float) -> str:
    if watched.stopped != "timeout":
        return watchdog.stopped_message(watched.stopped)
    compiling = (f" (The {watched.compile_s:.0f} s MAX spent compiling its kernels for this machine "
                 "did not count.)" if watched.compile_s >= 1 else "")
    return (f"Your code did not finish within {limit:g} seconds and was stopped.{compiling} "
            "Is there an infinite loop, or a loop that never reaches its end?")


def _child_env(root: Path, kata: Kata, box: sandbox.Sandbox, tmp: Path, token: str,
               result_file: Path, fresh_in: Path, fresh_out: Path) -> dict:
    """The child's environment: where its copy of the course, its result and the fresh inputs are
    (the course itself stays on PYTHONPATH: the checker package is imported from there)."""
    env = protocol.child_env(root, **{
        Env.FIXTURES: str(box.box_fixtures), Env.FILE: str(box.learner_file),
        Env.MODULE: kata.module, Env.PACKAGE: kata.package, Env.DEPS_DIR: str(box.deps_dir),
        Env.RESULT_FILE: str(result_file), Env.TOKEN: token, Env.STATUS_DIR: str(tmp),
        Env.FRESH_IN: str(fresh_in), Env.FRESH_OUT: str(fresh_out),
        Env.USES_MAX: "1" if kata.uses_max else "0",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    })
    env[Env.ROOT] = str(box.root)  # the child works in its private copy
    return env


def _wrote_message(written: list[str]) -> str:
    return (f"Your code wrote to {', '.join(written)} during the check. The check ran on a private "
            "copy, so the course's fixtures and your progress are safe, but a check whose code "
            "writes into fixtures/ or .kata/ does not count. Remove that write.")


def _prepared(kata: Kata, on_event) -> dict:
    """The kata's own preparation (e.g. a model file fetched once), said as it happens."""
    from checker.check import fresh

    return fresh.prepare(kata, lambda text: on_event("prepare", text) if on_event else None)


def _fresh_inputs(kata: Kata, fixtures: Path, path: Path) -> dict:
    """New inputs for this check only, saved where the child reads them (see fresh.py;
    imported here, so that light commands never load numpy)."""
    import numpy as np

    from checker.check import fresh

    inputs = fresh.make_inputs(kata, fixtures, np.random.default_rng(secrets.randbits(128)))
    protocol.save_arrays(path, inputs)
    return inputs


def _anticipate(kata: Kata, inputs: dict, fixtures: Path):
    from checker.check import fresh

    return fresh.anticipate(kata, inputs, fixtures)


def _judge_fresh(kata: Kata, inputs: dict, outputs_file: Path, fixtures: Path,
                 anticipated=None) -> tuple[str | None, float | None]:
    """The parent's own judgement of the outputs on fresh inputs (see fresh.py): None when they
    are right, else what is wrong. A pass the child reports stands only if these agree.
    Also how close a pass came: the judgement's worst error-to-tolerance ratio (under 1), or None
    when it failed or made no tolerance comparison (an exact or statistical judgement)."""
    from checker import diagnose
    from checker.check import fresh

    outputs = protocol.load_arrays(outputs_file)
    if outputs is None:
        return "the outputs on the fresh inputs never came back", None
    try:
        with diagnose.margins() as seen:
            problem = fresh.judge(kata, inputs, outputs, fixtures, anticipated)
    except Exception as exc:  # noqa: BLE001 - outputs the learner's process wrote can be anything
        return f"the outputs on the fresh inputs could not be read ({type(exc).__name__})", None
    return problem, (None if problem or seen.worst is None else round(seen.worst, 4))


def _failed_on_fresh_inputs(child: _ChildReport, problem: str) -> _ChildReport:
    message = ("Your code passed the examples but not inputs made up for this check: "
               f"{problem}. A pass must come from computing the answer, for any input.")
    tests = [dict(test, status="fail", message=message) if test["name"] == CHILD_TEST else test
             for test in child.tests]
    if not any(test["name"] == CHILD_TEST for test in tests):
        tests.append({"name": CHILD_TEST, "status": "fail", "message": message, "output": None,
                      "notes": [], "duration_s": 0})
    return _ChildReport(Status.FAIL, message, tests)


def _read_child_report(result_file: Path, token: str, returncode: int,
                       log_file: Path) -> _ChildReport:
    data = protocol.read_result(result_file, token)
    if data is None:
        tail = _tail(log_file)
        return _ChildReport(Status.ERROR, (
            f"The check stopped before it could report a result (exit code {returncode}). "
            "Did your code call sys.exit() or os._exit(), kill its own process, or crash Python?"
            + (f"\nLast output:\n{tail}" if tail else "")))
    tests = data["tests"]
    errors = [t for t in tests if t.get("status") == "error"]
    if errors or not tests:
        return _ChildReport(Status.ERROR, errors[0]["message"] if errors else
                            "No hidden test ran; the check itself is broken.", tests)
    failed = [t for t in tests if t.get("status") != "pass"]
    complete = len(tests) == data.get("collected") and data.get("exitstatus") == 0 and returncode == 0
    if not failed and complete:
        return _ChildReport(Status.PASS, None, tests)
    return _ChildReport(Status.FAIL, f"{len(failed)} of {len(tests)} checks failed." if failed else
                        f"The hidden tests did not all finish (exit code {returncode}).", tests)
