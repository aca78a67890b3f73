"""Does the background warm-up slow the learner's check? A side-by-side answer.

On an empty MAX cache and a fresh HOME: the first check of kata --kata compiles what it needs;
then, with every kata up to it passed, a `kata` command starts the warm-up (checker/play/warmer.py),
which goes on compiling the later katas at idle priority. While it works, the same warm check runs
--rounds times with the warm-up running and --rounds times with it frozen (SIGSTOP on every
process it started), interleaved, so that the machine's other load falls on both alike. Prints
JSON: each side's wall seconds, their medians, and the frozen side's own spread (the noise).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from common import KATA, env_for, load, machine, median, scratch, stop_warmup, timed


def _tree(pid: int) -> set[int]:
    """`pid` and every live process it started, at any depth (its checks run in their own sessions)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = {pid}, [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, of in parents.items() if of == parent} - found
        found |= children
        todo.extend(children)
    return found


def _signal_tree(pid: int, sig: int) -> None:
    for process in _tree(pid):
        try:
            os.kill(process, sig)
        except ProcessLookupError:
            pass


def _warmup_pid(home: Path) -> int | None:
    for state in (home / ".cache" / "kata" / "warm").glob("*/state.json"):
        pid = json.loads(state.read_text()).get("pid")
        if isinstance(pid, int):
            return pid
    return None


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kata", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: the warm-up is stopped too
    with scratch("bench-warm-noise-") as (tmp, course):
        cache, home = Path(tempfile.mkdtemp(dir=tmp)), Path(tempfile.mkdtemp(dir=tmp))
        off = env_for(course, MODULAR_CACHE_DIR=str(cache), HOME=str(home), KATA_NO_WARM="1")
        on = {**off, "KATA_NO_WARM": "0"}
        check = [*KATA, "check", str(args.kata), "--force"]
        for number in range(1, args.kata + 1):  # passes them in order: the first checks compile
            timed([*KATA, "check", str(number), "--force"], cwd=course, env=off, timeout=3600)
        timed(KATA, cwd=course, env=on)  # a learner's command: the warm-up starts on katas after
        deadline = time.monotonic() + 120
        while (pid := _warmup_pid(home)) is None and time.monotonic() < deadline:
            time.sleep(1)
        if pid is None:
            sys.exit("The warm-up did not start (is MAX's warm stamp in this cache?).")
        running, frozen = [], []
        sides = [("running", running), ("frozen", frozen)]
        try:
            for round_ in range(args.rounds):
                for side, sink in sides if round_ % 2 == 0 else sides[::-1]:  # neither always first
                    _signal_tree(pid, signal.SIGCONT if side == "running" else signal.SIGSTOP)
                    sink.append(round(timed(check, cwd=course, env=on)[0], 2))
                    print(f"  {side}: {sink[-1]} s (load {load()})", file=sys.stderr, flush=True)
        finally:
            _signal_tree(pid, signal.SIGCONT)
            stop_warmup(course, on, home)
        warmed = [json.loads(p.read_text()).get("warmed", {})
                  for p in (home / ".cache" / "kata" / "warm").glob("*/state.json")]
    return {"machine": machine(), "load_after": load(), "kata": args.kata, "rounds": args.rounds,
            "check_s_warmup_running": running, "check_s_warmup_frozen": frozen,
            "median_running": median(running), "median_frozen": median(frozen),
            "frozen_spread": [min(frozen), max(frozen)],
            "katas_warmed_meanwhile": sorted(int(n) for w in warmed for n in w)}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
