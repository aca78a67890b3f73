"""The background warm-up's own process: `python -m checker.play.background_warm COURSE_ROOT`.

Started by checker.play.warmer (whose docstring says what was decided and why). It checks the
reference solution of every kata the learner has not passed yet, in course order, in a scratch
folder and at idle priority, as `kata dev verify` does, so that MAX compiles what each check uses
into its cache. The learner's progress is never touched: the checks are run without it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from checker.play import warmer
from checker.protocol import Env

LOCK_TRIES = 10  # a `kata` reading the status holds the lock for a moment: try for a second
WATCH_S = 0.05  # how soon the warm-up gives way to a check of the learner's
PAUSED_WATCH_S = 0.25  # while paused: how soon it goes on again


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


class GivingWay:
    """Watches for the learner's own check (warmer.foreground()). While one runs, every process
    the warm-up started is stopped (SIGSTOP: what MAX has half compiled is kept, where ending it
    would throw minutes away at every check of the learner's) and the next check waits; when
    theirs ends, the warm-up's goes on. Its checks die with it even while stopped
    (Env.PARENT_DEATH)."""

    def __init__(self) -> None:
        self.paused_s = 0.0
        threading.Thread(target=self._watch, name="kata-warm-gives-way", daemon=True).start()

    def _watch(self) -> None:
        since = None
        while True:
            busy = warmer.learner_busy()
            if busy and since is None:
                since = time.monotonic()
            if busy:  # again each time: a check may have started a process in between
                signal_children(signal.SIGSTOP)
            elif since is not None:
                signal_children(signal.SIGCONT)
                self.paused_s += time.monotonic() - since
                since = None
            time.sleep(WATCH_S if not busy else PAUSED_WATCH_S)

    def wait_until_free(self) -> None:
        while warmer.learner_busy():
            time.sleep(WATCH_S)


def signal_children(sig: int) -> None:
    """`sig` to every process group this process's children lead (a check's child leads its
    own), or to the child alone."""
    for child in _children(os.getpid()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(child) == child:
                os.killpg(child, sig)
            else:
                os.kill(child, sig)


def _children(pid: int) -> list[int]:
    proc = Path("/proc")
    if proc.is_dir():
        found = []
        for entry in proc.iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry.name))
        return found
    try:  # macOS
        listed = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    except OSError:
        return []
    return [int(line) for line in listed.stdout.split()]


def _provisioned(state: dict) -> int:
    state.update(provisioned=True, pid=None, current=None)
    warmer.write_state(state)
    return 0


def _stop_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds: a running check kills its child on the way out


def main(root: Path) -> int:
    for _ in range(LOCK_TRIES):
        with warmer.lock() as mine:
            if mine:
                return _warm(root)
        time.sleep(0.1)
    return 0  # another warm-up runs


def _warm(root: Path) -> int:
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        signal.signal(getattr(signal, name), _stop_on_signal)
    priority = lower_priority()
    os.environ[Env.PARENT_DEATH] = "kill"  # its checks may be stopped when it dies (GivingWay)
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
    giving_way = GivingWay()
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
                giving_way.wait_until_free()
                try:
                    result = check_kata(curriculum, None, kata, deps_dir=solutions,
                                        learner_file=root / kata.solution)
                    outcome = {"status": str(result.status.value),
                               "compile_s": round(result.compile_s or 0, 1)}
                except KataError as exc:  # no model file and no network, say: theirs says so
                    outcome = {"status": "error", "message": str(exc)}
                outcome["seconds"] = round(time.monotonic() - began, 1)
                state["paused_s"] = round(giving_way.paused_s, 1)
                state["warmed"][str(number)] = outcome
                print(f"kata {number}: {state['warmed'][str(number)]}", flush=True)
    finally:
        signal_children(signal.SIGKILL)  # a check of its own, stopped or not, ends with it
        state.update(current=None, pid=None, finished=time.time())
        warmer.write_state(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve()))
