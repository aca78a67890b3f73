"""`kata watch`: a save triggers a check; a pass offers the next kata; q quits."""

import queue
import subprocess
import sys
import threading
import time

from conftest import KATAS, kata_env, place_solution


def _reader(stream, lines: "queue.Queue[str]") -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)


def _wait_for(lines: "queue.Queue[str]", text: str, seen: list[str], timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"{text!r} never appeared in:\n{''.join(seen)}")


def test_watch_checks_on_save_and_moves_on(course):
    proc = subprocess.Popen([sys.executable, "-c", "from checker.cli import main; main()", "watch"],
                            cwd=course, env=kata_env(course), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        _wait_for(lines, "Watching step_01.py", seen)
        _wait_for(lines, "FAIL", seen)  # the untouched skeleton
        _wait_for(lines, f"0/{KATAS}", seen)
        time.sleep(1.1)  # a later modification time than the first check saw
        place_solution(course, 1)
        _wait_for(lines, "PASS", seen)
        _wait_for(lines, "Passed!", seen)
        proc.stdin.write("n\n")
        proc.stdin.flush()
        _wait_for(lines, "Watching step_02.py", seen)
        proc.stdin.write("q\n")
        proc.stdin.flush()
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
    assert "Traceback" not in "".join(seen)
