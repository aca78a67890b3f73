"""Watches a check's child process: its time, memory and output, and MAX's first-use compiles.

A learner's runaway loop must not take the machine with it: past a limit the child's whole
process group is killed, and the runner says which limit in words.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

# Added to a kata's limit when MAX has not compiled its kernels on this machine yet: each new
# operation family compiles once (measured 20 s to 3 min each on 2 cores).
COLD_ALLOWANCE_S = 20 * 60
COMPILED = re.compile(r"compiled (\S+) on the fly in ([\d.]+)s")
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
        return max(256, int(os.environ.get("KATA_MEMORY_LIMIT_MB", MEMORY_LIMIT_MB)))
    except ValueError:
        return MEMORY_LIMIT_MB


def stopped_message(reason: str) -> str:
    return STOPPED[reason].format(memory=memory_limit_mb(), output=OUTPUT_LIMIT_MB)


def wait(proc, deadline, status_dir: Path, log_file: Path, on_event) -> str | None:
    """Waits for the child; why it had to be stopped ("timeout", "memory", "output"), or None."""
    read_upto = 0
    cold_seen = False
    memory_limit = memory_limit_mb() << 20
    while proc.poll() is None:
        if not cold_seen and (status_dir / "cold").exists():
            cold_seen = True
            deadline += COLD_ALLOWANCE_S
            if on_event:
                on_event("cold", "MAX's kernels are not all compiled on this machine yet: each "
                                 "operation compiles the first time it is used (20 s to 3 min "
                                 "each, once). `kata setup` compiles all of them ahead of time.")
        read_upto = _report_compiles(log_file, read_upto, on_event)
        stopped = ("timeout" if time.monotonic() > deadline else
                   "memory" if _resident_bytes(proc.pid) > memory_limit else
                   "output" if _size(log_file) > OUTPUT_LIMIT_MB << 20 else None)
        if stopped:
            kill_group(proc)
            return stopped
        time.sleep(0.1)
    _report_compiles(log_file, read_upto, on_event)
    kill_group(proc)  # whatever the learner's code left running in the background
    return None


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


def _report_compiles(log_file: Path, offset: int, on_event) -> int:
    if on_event is None:
        return offset
    try:
        with open(log_file, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read(1 << 20)
    except OSError:
        return offset
    end = chunk.rfind(b"\n") + 1
    for match in COMPILED.finditer(chunk[:end].decode("utf-8", "replace")):
        on_event("compiled", f"compiled MAX kernels for {match.group(1)} ({float(match.group(2)):.0f} s, once)")
    return offset + end
