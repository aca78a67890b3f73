"""The background warm-up, seen from `kata`: whether to start it, what it is doing, how to stop it.

MAX compiles each operation the first time a machine uses it (a first check waited 20 s to 3 min
for it, issue 19's table). While the learner reads a lesson, the warm-up
(checker.play.background_warm, its own process) checks the reference solutions of the katas the
learner has not passed yet, in order, in a scratch folder, so that MAX's cache holds what those
checks compile before the learner's own first check needs it.

What was decided, and why:
- It starts on any learner command (`kata`, `kata check`, `kata list`, ...) that finds work left:
  the first command of an evening, and each pass, so it never waits for a command of its own.
- One at a time: the warm-up holds a lock; a second one exits at once.
- It outlives the `kata` command that started it (a check ends in seconds; the warm-up takes
  minutes), in a session of its own so that a closed terminal does not stop it. It leaves nothing
  behind: its own checks end with it (checker/child/lifeline.py), and it ends when its list is
  done, when `kata --no-warm` stops it, or after MAX_HOURS.
- It never slows the learner's check. It runs at the idle scheduling class (Linux's SCHED_IDLE;
  elsewhere nice 19), so a busy machine starves it; and since even so a warm check took a third
  longer beside it (bench/warm_noise.py, RESULTS §15), it gives way: while the learner's check,
  `kata run` or `kata chat` runs (holding foreground()), the warm-up's own check is stopped
  within 50 ms (SIGSTOP, keeping what MAX has half compiled) and goes on when theirs ends. Had
  both compiled one operation at once, each would compile it and both work
  (tests/test_background_warm.py).
- After `kata setup` (MAX's warm stamp) there is nothing to do: it records that, once.
- Off: KATA_NO_WARM=1 in the environment, or `kata --no-warm ...` (which also stops a running one).

Light: `kata` imports this on every command (no MAX, no numpy).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from checker.protocol import Env

MAX_HOURS = 4  # a warm-up starved by a busy machine gives up after this long


def disabled() -> bool:
    return os.environ.get(Env.NO_WARM, "").strip().lower() not in ("", "0", "no", "false")


def warm_dir() -> Path:
    """One state per MAX cache: MAX's cache folder moves with these variables (MAX-NOTES.md)."""
    from checker.paths import user_cache_dir

    where = "|".join(os.environ.get(name, "") for name in ("MODULAR_CACHE_DIR", "MODULAR_DERIVED_PATH"))
    return user_cache_dir() / "warm" / hashlib.sha256(where.encode()).hexdigest()[:12]


def read_state(folder: Path | None = None) -> dict:
    """What the warm-up wrote last ({} when nothing, or a damaged file: it is only a cache)."""
    try:
        state = json.loads(((folder or warm_dir()) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(state: dict, folder: Path | None = None) -> None:
    folder = folder or warm_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"state.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    tmp.replace(folder / "state.json")  # a reader sees the old state or the new one, never half


def still_to_warm(numbers: list[int], passed: set[int], state: dict) -> list[int]:
    """The katas (in course order) whose first check may still compile: not passed, not warmed."""
    if state.get("provisioned"):
        return []
    warmed = set(state.get("warmed", {}))
    return [n for n in numbers if n not in passed and str(n) not in warmed]


@contextlib.contextmanager
def lock(folder: Path | None = None):
    """Yields True while this process holds the warm-up's lock, False when another one does."""
    import fcntl

    folder = folder or warm_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def foreground():
    """Held while the learner's own check (or kata run, kata chat) runs: the warm-up gives way.
    A shared lock, so that checks in two terminals hold it together; the system drops it when
    the process ends, however it ends, so a killed `kata` never leaves the warm-up waiting."""
    import fcntl

    try:  # taken even when the warm-up is off here: one started elsewhere still gives way
        folder = warm_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "foreground", "a")
    except OSError:  # an unwritable cache: no warm-up can run either
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield


def learner_busy(folder: Path | None = None) -> bool:
    """Whether a check (or kata run, kata chat) of the learner's holds foreground() now."""
    import fcntl

    folder = folder or warm_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "foreground", "a")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def running_pid(state: dict | None = None) -> int | None:
    """The warm-up's process id while one runs (its lock is held), else None."""
    with lock() as free:
        if free:
            return None
    pid = (state if state is not None else read_state()).get("pid")
    return pid if isinstance(pid, int) and pid > 0 else None


def start_if_useful(root: Path, numbers: list[int], passed: set[int]) -> bool:
    """Starts the warm-up for the course at `root` when it is on and has work; True if started."""
    if disabled():
        return False
    state = read_state()
    if not still_to_warm(numbers, passed, state) or running_pid(state):
        return False
    folder = warm_dir()
    try:
        with open(folder / "log.txt", "ab") as log:
            subprocess.Popen([sys.executable, "-m", "checker.play.background_warm", str(root)],
                             cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True, close_fds=True, env=_warm_env())
    except OSError:
        return False  # no warm-up, no harm: the learner's checks compile what they need
    return True


def _warm_env() -> dict:
    env = dict(os.environ)
    for name in Env.PER_RUN + (Env.PARENT_PID,):  # its own checks name their own
        env.pop(name, None)
    return env


def stop() -> bool:
    """Stops a running warm-up (its checks end with it); True if one was running."""
    pid = running_pid()
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
        return True
    return False


def status_line(titles: dict[int, str]) -> str | None:
    """One line for `kata`: what the warm-up is doing and how far it got; None when idle."""
    state = read_state()
    if disabled() or running_pid(state) is None:
        return None
    plan, done = state.get("plan", []), state.get("warmed", {})
    ready = [n for n in plan if str(n) in done]
    current = state.get("current")
    doing = ""
    if learner_busy():
        doing = "waiting while yours runs; "
    elif isinstance(current, int):
        since = time.time() - float(state.get("current_since", time.time()))
        doing = f"now kata {current}, {titles.get(current, '')} ({_duration(since)} so far); "
    return (f"Warming up MAX for your next katas in the background, at idle priority: {doing}"
            f"{len(ready)} of {len(plan)} ready. KATA_NO_WARM=1 or `kata --no-warm` turns it off.")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
