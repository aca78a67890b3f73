"""The background warm-up's own process: `python -m checker.play.background_warm COURSE_ROOT`.

Started by checker.play.warmer (whose docstring says what was decided and why). It checks the
reference solution of every kata the learner has not passed yet, in course order, in a scratch
folder and at idle priority, as `kata dev verify` does, so that MAX compiles what each check uses
into its cache. The learner's progress is never touched: the checks are run without it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checker.play import warmer

LOCK_TRIES = 10  # a `kata` reading the status holds the lock for a moment: try for a second


def lower_priority() -> str:
    """The idle scheduling class where there is one (a core only when nothing else wants it)."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except OSError:
            pass
    try:
        os.nice(19)
    except OSError:
        return "normal"
    return "nice 19"


def max_is_warm() -> bool:
    """MAX's warm stamp (`kata setup`) is there: every process loads its kernels from the cache."""
    from checker.play.warmup import max_command

    command = max_command()
    if command is None:
        return False
    return subprocess.run([*command, "warm-interpreter-cache", "--check"],
                          capture_output=True).returncode == 0


def _provisioned(state: dict) -> int:
    state.update(provisioned=True, pid=None, current=None)
    warmer.write_state(state)
    return 0


def _stop_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds: a running check kills its child on the way out


def main(root: Path) -> int:
    for attempt in range(LOCK_TRIES):
        with warmer.lock() as mine:
            if mine:
                return _warm(root)
        time.sleep(0.1)
    return 0  # another warm-up runs


def _warm(root: Path) -> int:
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        signal.signal(getattr(signal, name), _stop_on_signal)
    priority = lower_priority()
    from checker.check.service import check_kata
    from checker.curriculum import load_curriculum
    from checker.dev.verify import solution_katas
    from checker.errors import KataError
    from checker.paths import state_dir
    from checker.progress import ProgressStore, passed_numbers

    state = warmer.read_state()
    if max_is_warm():
        return _provisioned(state)
    curriculum = load_curriculum(root)
    passed = passed_numbers(ProgressStore(state_dir(root)).load())
    plan = warmer.still_to_warm([k.number for k in curriculum.available], passed, state)
    state.update(pid=os.getpid(), started=time.time(), plan=plan, priority=priority, current=None)
    state.setdefault("warmed", {})
    warmer.write_state(state)
    deadline = time.monotonic() + warmer.MAX_HOURS * 3600
    try:
        with tempfile.TemporaryDirectory(prefix="kata-warm-") as tmp:
            solutions = solution_katas(curriculum, Path(tmp))
            for number in plan:
                if time.monotonic() > deadline:
                    break
                if number != plan[0] and max_is_warm():  # `kata setup` ran meanwhile
                    return _provisioned(state)
                kata = curriculum.get(number)
                state.update(current=number, current_since=time.time())
                warmer.write_state(state)
                began = time.monotonic()
                try:
                    result = check_kata(curriculum, None, kata, learner_file=root / kata.solution,
                                        deps_dir=solutions)
                    outcome = {"status": str(result.status.value),
                               "compile_s": round(result.compile_s or 0, 1)}
                except KataError as exc:  # no model file and no network, say: their check says so
                    outcome = {"status": "error", "message": str(exc)}
                outcome["seconds"] = round(time.monotonic() - began, 1)
                state["warmed"][str(number)] = outcome
                print(f"kata {number}: {state['warmed'][str(number)]}", flush=True)
    finally:
        state.update(current=None, pid=None, finished=time.time())
        warmer.write_state(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve()))
