"""Runs one kata's hidden tests in a child process under a time limit and reads its verdict.

The verdict comes only from the result file the child's plugin writes at the very end, checked
against a fresh random token: a crash, os._exit(0), sys.exit(0) or a kill leaves no valid file
and is an "error", never a pass. The child works on a private copy of the course (sandbox.py),
under the watchdog's limits (watchdog.py), and a pass it reports stands only if the parent's own
judgement of the learner's outputs on fresh inputs agrees (fresh.py).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from checker.check import sandbox, watchdog
from checker.curriculum import Curriculum, Kata
from checker.fixture_files import sha256_of
from checker.paths import fixtures_dir

TAIL_CHARS = 1500
FRESH_TEST = "check_fresh_inputs.py"


@dataclass
class CheckResult:
    kata: int
    slug: str
    status: str  # pass | fail | error | timeout | locked
    message: str | None = None
    tests: list[dict] = field(default_factory=list)
    duration_s: float = 0.0
    sha256: str | None = None
    blame: str | None = None  # an earlier kata this one runs that fails now: fix that first
    compile_s: float = 0.0  # MAX compiling kernels for this machine: not counted in the limit
    fresh_judgement: str = "not judged"  # the parent's, on fresh inputs: agreed | disagreed

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def file_sha256(path: Path) -> str | None:
    """The learner file's sha256, or None when it cannot be read."""
    try:
        return sha256_of(path)
    except OSError:
        return None


def syntax_problem(path: Path, root: Path) -> str | None:
    """A SyntaxError in the learner's file, with its line and a caret; None if it compiles."""
    from checker.child.learner_import import syntax_message

    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        try:
            shown = str(path.relative_to(root))
        except ValueError:
            shown = str(path)
        return syntax_message(exc, shown)
    except (OSError, ValueError):
        return None  # unreadable or NUL bytes: the child reports it with the full story
    return None


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
    """Checks `learner_file` (default: the learner's own file for this kata)."""
    root = curriculum.root
    learner_file = (learner_file or root / kata.file).resolve()
    deps_dir = (deps_dir or (root / kata.file).parent).resolve()
    limit = time_limit_s or kata.time_limit_s
    sha = file_sha256(learner_file)
    started = time.monotonic()
    if sha is None:
        return CheckResult(kata.number, kata.slug, "error",
                           f"{kata.file} is missing. Restore it with `git checkout -- {kata.file}`.")
    syntax = syntax_problem(learner_file, root)
    if syntax:  # said at once, before MAX or pytest start
        return CheckResult(kata.number, kata.slug, "error", syntax, sha256=sha,
                           duration_s=round(time.monotonic() - started, 2))
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
        hidden = root / kata.tests
        course = (root / kata.folder).parent  # the folder of all kata folders: shared test config
        command = [sys.executable, "-m", "pytest", str(hidden), str(course / FRESH_TEST),
                   "-c", str(course / "pytest.ini"), "--rootdir", str(course),
                   "-p", "pytest_check.plugin", "-p", "checker.child.plugin", "-q", "--no-header", "-rN",
                   "--tb=short", "--show-capture=no"]  # the plugin keeps what a test printed
        with open(log_file, "wb") as log:
            proc = subprocess.Popen(command, cwd=box.root, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            watched = watchdog.wait(proc, started + limit, tmp, log_file, on_event)
        except BaseException:
            watchdog.kill_group(proc)  # Ctrl-C in the checker: leave nothing running behind
            raise
        duration = round(time.monotonic() - started, 2)
        if watched.stopped:
            return CheckResult(kata.number, kata.slug,
                               "timeout" if watched.stopped == "timeout" else "error",
                               _stopped_message(watched, limit), duration_s=duration, sha256=sha,
                               compile_s=watched.compile_s)
        verdict = _read_verdict(result_file, token, proc.returncode, log_file)
        verdict.compile_s = watched.compile_s
        if verdict.passed:
            _judge_fresh(verdict, kata, inputs, fresh_out, fixtures)
            verdict.fresh_judgement = "agreed" if verdict.passed else "disagreed"
        _refuse_writes(verdict, box)
        verdict.kata, verdict.slug = kata.number, kata.slug
        verdict.duration_s, verdict.sha256 = duration, sha
        return verdict


def _stopped_message(watched: watchdog.Outcome, limit: float) -> str:
    if watched.stopped != "timeout":
        return watchdog.stopped_message(watched.stopped)
    compiling = (f" (The {watched.compile_s:.0f} s MAX spent compiling its kernels for this machine "
                 "did not count.)" if watched.compile_s >= 1 else "")
    return (f"Your code did not finish within {limit:g} seconds and was stopped.{compiling} "
            "Is there an infinite loop, or a loop that never reaches its end?")


def _child_env(root: Path, kata: Kata, box: sandbox.Sandbox, tmp: Path, token: str,
               result_file: Path, fresh_in: Path, fresh_out: Path) -> dict:
    """The child's environment: where its copy of the course, its result and the fresh inputs are."""
    env = dict(os.environ)
    env.update({
        "KATA_ROOT": str(box.root), "KATA_FIXTURES": str(box.box_fixtures),
        "KATA_FILE": str(box.learner_file), "KATA_MODULE": kata.module,
        "KATA_PACKAGE": kata.package,
        "KATA_DEPS_DIR": str(box.deps_dir), "KATA_RESULT_FILE": str(result_file),
        "KATA_TOKEN": token, "KATA_STATUS_DIR": str(tmp),
        "KATA_FRESH_IN": str(fresh_in), "KATA_FRESH_OUT": str(fresh_out),
        "KATA_USES_MAX": "1" if kata.uses_max else "0", "KATA_PARENT_PID": str(os.getpid()),
        "PYTHONPATH": os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    })
    # MAX's default "composite" executor also compiles every new graph shape in background
    # processes, which a short check never reuses; on 2 cores that competes with the check
    # itself. Interpreting the (pre-compiled) ops alone measured 3x faster here.
    env.setdefault("MAX_EAGER_EXECUTOR", "interpreter")
    return env


def _refuse_writes(verdict: CheckResult, box: sandbox.Sandbox) -> None:
    """Learner paths as the learner knows them; and no pass for code that wrote where it must not."""
    verdict.message = box.unbox(verdict.message)
    for test in verdict.tests:
        test["message"], test["output"] = box.unbox(test.get("message")), box.unbox(test.get("output"))
    written = box.writes()
    if written:
        verdict.status = "error"
        verdict.message = (
            f"Your code wrote to {', '.join(written)} during the check. The check ran on a private "
            "copy, so the course's fixtures and your progress are safe, but a check whose code "
            "writes into fixtures/ or .kata/ does not count. Remove that write.")


def _prepared(kata: Kata, on_event) -> dict:
    """The kata's own preparation (e.g. a model file fetched once), said as it happens."""
    from checker.check import fresh

    return fresh.prepare(kata, lambda text: on_event("prepare", text) if on_event else None)


def _fresh_inputs(kata: Kata, fixtures: Path, path: Path) -> dict:
    """New inputs for this check only, saved where the child reads them (see checker/check/fresh.py;
    imported here, so that light commands never load numpy)."""
    import numpy as np

    from checker.check import fresh

    inputs = fresh.make_inputs(kata, fixtures, np.random.default_rng(secrets.randbits(128)))
    fresh.save(path, inputs)
    return inputs


def _judge_fresh(verdict: CheckResult, kata: Kata, inputs: dict, outputs_file: Path,
                 fixtures: Path) -> None:
    """The parent's own judgement of the outputs on fresh inputs: a pass the child reports
    stands only if these numbers are right too (see checker/check/fresh.py)."""
    from checker.check import fresh

    outputs = fresh.load(outputs_file)
    try:
        problem = ("the outputs on the fresh inputs never came back" if outputs is None
                   else fresh.judge(kata, inputs, outputs, fixtures))
    except Exception as exc:  # noqa: BLE001 - outputs the learner's process wrote can be anything
        problem = f"the outputs on the fresh inputs could not be read ({type(exc).__name__})"
    if problem is None:
        return
    message = ("Your code passed the examples but not inputs made up for this check: "
               f"{problem}. A pass must come from computing the answer, for any input.")
    verdict.status, verdict.message = "fail", message
    for test in verdict.tests:
        if test["name"] == "test_fresh_inputs":
            test.update(status="fail", message=message)
            break
    else:
        verdict.tests.append({"name": "test_fresh_inputs", "status": "fail", "message": message,
                              "output": None, "notes": [], "duration_s": 0})


def _read_verdict(result_file: Path, token: str, returncode: int, log_file: Path) -> CheckResult:
    error = CheckResult(0, "", "error")
    try:
        data = json.loads(result_file.read_text(encoding="utf-8"))
        valid = isinstance(data, dict) and data.get("token") == token and isinstance(data.get("tests"), list)
    except (OSError, ValueError):
        valid = False
    if not valid:
        tail = _tail(log_file)
        error.message = (
            f"The check stopped before it could report a result (exit code {returncode}). "
            "Did your code call sys.exit() or os._exit(), kill its own process, or crash Python?"
            + (f"\nLast output:\n{tail}" if tail else "")
        )
        return error
    tests = data["tests"]
    errors = [t for t in tests if t.get("status") == "error"]
    if errors or not tests:
        error.tests = tests
        error.message = errors[0]["message"] if errors else "No hidden test ran; the check itself is broken."
        return error
    failed = [t for t in tests if t.get("status") != "pass"]
    complete = len(tests) == data.get("collected") and data.get("exitstatus") == 0 and returncode == 0
    status = "pass" if not failed and complete else "fail"
    message = None
    if status == "fail":
        message = (f"{len(failed)} of {len(tests)} checks failed." if failed else
                   f"The hidden tests did not all finish (exit code {returncode}).")
    return CheckResult(0, "", status, message, tests)
