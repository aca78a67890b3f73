"""Watches a check's child process: its time, memory and output, MAX's first-use compiles, and
the steps a long check says it is on.

A learner's runaway loop must not take the machine with it: past a limit the child's whole
process group is killed, and the runner says which limit in words. The time limit is the
learner's code's: the clock stops while MAX compiles a kernel for this machine (the child tells
us, see checker/child/compiles.py), and the learner is told what compiles and how long it took.
A check that takes long says what it does now (checker.child.testkit.step): the live line shows
that step with its seconds, so minutes of work never look like a hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from checker.protocol import CompileMarkers, Env, StepMarker

# At most this much compiling is taken off the clock in one check: more than the first use of the
# whole course needs on 2 cores, and the most a learner's code could gain by faking the marker.
COMPILE_ALLOWANCE_S = 45 * 60
ANNOUNCE_AFTER_S = 2.0  # a compile that lasts longer is said while it runs
NOTICE_S = 1.0  # MAX also "compiles" what it only loads from its cache, in well under this
STEP_EVERY_S = 1.0  # a step's seconds on the live line move on this often
# The child is stopped past these: a learner's runaway loop must not take the machine with it.
MEMORY_LIMIT_MB = 4096
OUTPUT_LIMIT_MB = 50
STOPPED = {
    "memory": "Your code used more than {memory} MB of memory and was stopped. Is something "
              "growing without end (a list appended to in a loop, a tensor as large as the "
              "vocabulary squared)?",
    "output": "Your code printed more than {output} MB and was stopped. Remove the print in "
              "your loop, or print less.",
}


def kill_group(proc: subprocess.Popen) -> None:
    """Kills the child and everything it started (its own process group), and reaps it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not block
        pass


def memory_limit_mb() -> int:
    """The child's memory limit: KATA_MEMORY_LIMIT_MB, for a bigger model or a smaller laptop."""
    try:
        return max(256, int(os.environ.get(Env.MEMORY_LIMIT_MB, MEMORY_LIMIT_MB)))
    except ValueError:
        return MEMORY_LIMIT_MB


def stopped_message(reason: str) -> str:
    return STOPPED[reason].format(memory=memory_limit_mb(), output=OUTPUT_LIMIT_MB)


@dataclass
class Outcome:
    stopped: str | None  # why the child had to be stopped ("timeout", "memory", "output"), or None
    compile_s: float  # seconds MAX spent compiling, not counted against the time limit


class CompileClock:
    """What the child's compile marker says, tick by tick: time paused, and what to tell.

    MAX compiles an op family in several variants (one per dtype and rank it meets), each a
    compile of its own: the learner hears of each family once, on one live line that names the
    families so far and the seconds spent ("compiling" for a new family, "compiling again" for
    another variant of one, "idle" when it is done), and of all of them in one summary line when
    the check ends ("compiled", from finish())."""

    def __init__(self, folder: Path, on_event):
        self.markers, self.on_event = CompileMarkers(folder), on_event
        self.paused = 0.0
        self.name: str | None = None  # compiling now (as last seen)
        self.since = self.last = 0.0
        self.families: dict[str, float] = {}  # op family -> seconds compiled in this check
        self.refused_s = 0.0  # compiling graphs the eager interpreter refused
        self.announced: set[str] = set()  # families said on the live line in this check
        self.told_now = False  # the compile going on now is on the live line

    def tick(self, now: float) -> None:
        if self.name is not None:
            self.paused = min(COMPILE_ALLOWANCE_S, self.paused + now - self.last)
        self.last = now
        name = self.markers.compiling_now()
        if name != self.name:
            if self.name is not None and self.told_now:
                self._say("idle", "")  # the live line goes back to the check itself
            self.name, self.since, self.told_now = name, now, False
        if name and not self.told_now and now - self.since >= ANNOUNCE_AFTER_S:
            self.told_now = True
            families = list(self.families) + ([name] if name not in self.families else [])
            kind = "compiling again" if name in self.announced else "compiling"
            self.announced.add(name)
            self._say(kind, compiling_line(name, families, self.paused))
        self._read_compiled()

    @property
    def on_the_line(self) -> bool:
        """A compile is on the live line now (it has the line before any step)."""
        return self.name is not None and self.told_now

    def _read_compiled(self) -> None:
        for name, seconds in self.markers.new_compiles():
            if seconds < NOTICE_S:
                continue  # a load from MAX's cache, not a compile
            if name == CompileMarkers.REFUSED:
                self.refused_s += seconds
            else:
                self.families[name] = self.families.get(name, 0.0) + seconds

    def finish(self) -> None:
        """The summary of what MAX compiled during the check, one line per kind of compile."""
        self._read_compiled()
        if self.refused_s:
            self._say("compiled", refused_notice(self.refused_s))
        if self.families:
            self._say("compiled", compiled_summary(self.families))

    def _say(self, kind: str, text: str) -> None:
        if self.on_event:
            self.on_event(kind, text)


class StepLine:
    """What the child says it does now (protocol.StepMarker), tick by tick, on the live line with
    its seconds: "step" once as a step begins ("reading the file with your load_gguf ..."; a log
    shows each step once), "step again" every STEP_EVERY_S after ("... (12 s)"; a terminal's live
    line counts), "idle" when the child is between steps. A compile on the live line has it first:
    the step comes back once the compile's line goes."""

    def __init__(self, folder: Path, on_event):
        self.marker, self.on_event = StepMarker(folder), on_event
        self.text: str | None = None
        self.since = self.said_at = 0.0
        self.announced = self.shown = False

    def tick(self, now: float, compiling: bool = False) -> None:
        text = self.marker.now()
        if text != self.text:
            if self.shown and not text and not compiling:
                self._say("idle", "")  # the live line goes back to the check itself
            self.text, self.since, self.announced, self.shown = text, now, False, False
        if not self.text:
            return
        if compiling:
            self.shown = False  # the compile's line replaced it
            return
        if not self.announced:
            self.announced = self.shown = True
            self.said_at = now
            self._say("step", f"{self.text} ...")
        elif not self.shown or now - self.said_at >= STEP_EVERY_S:
            self.shown, self.said_at = True, now
            self._say("step again", step_line(self.text, now - self.since))

    def _say(self, kind: str, text: str) -> None:
        if self.on_event:
            self.on_event(kind, text)


def step_line(text: str, seconds: float) -> str:
    return f"{text} ({seconds:.0f} s)"


class parent_step:
    """`with parent_step(on_event, text):` the parent's own long work (its judgement of the fresh
    inputs) on the live line like a child's step, once it has lasted a second."""

    def __init__(self, on_event, text: str):
        self.on_event, self.text = on_event, text
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._tell, daemon=True)

    def _tell(self) -> None:
        began, said = time.monotonic(), False
        while not self.done.wait(STEP_EVERY_S):
            seconds = time.monotonic() - began
            self.on_event("step again" if said else "step",
                          step_line(self.text, seconds) if said else f"{self.text} ...")
            said = True
        if said:
            self.on_event("idle", "")

    def __enter__(self):
        if self.on_event:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def compiling_line(name: str, families: list[str], seconds: float) -> str:
    """The live line while MAX compiles: what now, the families so far, the seconds spent."""
    if name == CompileMarkers.REFUSED:
        return f"MAX is compiling {name} (this time does not count against the check's limit) ..."
    so_far = f": {_listed(families)} so far, {seconds:.0f} s" if len(families) > 1 else ""
    return (f"MAX is compiling {name} for this machine{so_far} (the first use only; this time "
            "does not count against the check's limit) ...")


def compiled_summary(families: dict[str, float]) -> str:
    """One line for every op family compiled in a check: compiled once per machine and cached."""
    names, seconds = list(families), sum(families.values())
    cached = ("It is cached now: later checks and runs reuse it." if len(names) == 1 else
              "They are cached now: later checks and runs reuse them.")
    return (f"MAX compiled {_listed(names)} for this machine in {seconds:.0f} s, not counted "
            f"against the check's limit. {cached} `kata setup` compiles every operation ahead "
            "of time.")


def refused_notice(seconds: float) -> str:
    """A graph the eager interpreter refuses is not cached between checks: every check (each a
    new process) compiles it again, and only a spelling without it stops that."""
    return (f"MAX compiled {CompileMarkers.REFUSED} in {seconds:.0f} s, not counted against the "
            "check's limit. Such a graph is not cached between checks: every check compiles it "
            "again. Your lesson shows a spelling that runs without it.")


def wait(proc, deadline, status_dir: Path, log_file: Path, on_event) -> Outcome:
    """Waits for the child, `deadline` moved on by the time MAX spends compiling."""
    clock = CompileClock(status_dir, on_event)
    steps = StepLine(status_dir, on_event)
    memory_limit = memory_limit_mb() << 20
    while proc.poll() is None:
        now = time.monotonic()
        clock.tick(now)
        steps.tick(now, compiling=clock.on_the_line)
        stopped = ("timeout" if now > deadline + clock.paused else
                   "memory" if _resident_bytes(proc.pid) > memory_limit else
                   "output" if _size(log_file) > OUTPUT_LIMIT_MB << 20 else None)
        if stopped:
            kill_group(proc)
            clock.finish()
            return Outcome(stopped, round(clock.paused, 1))
        time.sleep(0.1)
    clock.tick(time.monotonic())
    kill_group(proc)  # whatever the learner's code left running in the background
    clock.finish()
    return Outcome(None, round(clock.paused, 1))


def _resident_bytes(pid: int) -> int:
    """The child's resident memory (0 where /proc is not available, e.g. macOS)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
