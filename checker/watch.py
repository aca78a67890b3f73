"""`kata watch`: re-checks the current kata each time its file is saved.

Polls the file's modification time and size (works on every file system, also where change
events never arrive), waits until the file has been still for a moment (editors save in
several writes), then checks. Typed commands, each followed by Enter: Enter alone re-checks,
h shows the next hint, n moves on once the kata passes, q quits.
"""

from __future__ import annotations

import select
import sys
import time
from pathlib import Path
from typing import Callable

POLL_S = 0.3
SETTLE_S = 0.4


def _stamp(path: Path) -> tuple[float, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime, info.st_size


def _read_command(timeout: float) -> str | None:
    """A line typed by the learner, or None when nothing was typed within `timeout`."""
    if not sys.stdin or sys.stdin.closed:
        time.sleep(timeout)
        return None
    try:
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
    except (OSError, ValueError):
        time.sleep(timeout)
        return None
    if not ready:
        return None
    line = sys.stdin.readline()
    return "q" if line == "" else line.strip().lower()  # end of input: quit


def watch(current: Callable[[], int | None], file_of: Callable[[int], Path],
          check: Callable[[int], bool], hint: Callable[[int], None],
          say: Callable[[str], None]) -> int:
    """Runs until the learner quits or every kata passes; returns an exit code."""
    number = current()
    while number is not None:
        path = file_of(number)
        say(f"Watching {path.name} (kata {number}). Save it to check; Enter re-checks, "
            "h = hint, q = quit.")
        passed = check(number)
        seen = _stamp(path)
        while True:
            if passed:
                say("Passed! Type n (then Enter) for the next kata, or q to quit.")
            command = _read_command(POLL_S)
            if command == "q":
                return 0
            if command == "h":
                hint(number)
                continue
            if command == "n" and passed:
                break
            if command == "":
                passed = check(number)
                continue
            now = _stamp(path)
            if now != seen:
                time.sleep(SETTLE_S)
                seen = _stamp(path)
                passed = check(number)
        number = current()
    say("Every available kata passes. Well done!")
    return 0
