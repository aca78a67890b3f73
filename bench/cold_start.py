"""Table 2: cold start, as a learner on a new machine meets it. MAX is pointed at an empty cache
folder (MODULAR_CACHE_DIR; the shared ~/.cache/modular is never touched), then:

  path   the first `kata check N` of every kata, 1 to 12 in order, with the reference
         solutions, all on that one cache (a learner's first evening without `kata setup`):
         each check's wall time, the seconds MAX spent compiling in it (the check's
         `compile_s`), and the cache's size after it;
  setup  `kata setup` (the op families the course uses; `--all`: MAX's warm-interpreter-cache)
         on another empty cache, then the first check of every kata (1 to 21: --katas to
         choose) on the cache it filled, each with the seconds MAX spent compiling in it.
  walk   a learner's evening on an empty cache and a fresh HOME, with the background warm-up
         (checker/play/warmer.py; `--no-warmer`: without it): `kata check N` for each kata in
         order, each after a pause (--pause, default 180 s: reading the next lesson), with each
         check's wall time, what MAX compiled in it, and what the warm-up had done by then.

Expensive (minutes to an hour on 2 cores): run it alone, e.g. `python bench/run_all.py --table
cold`; `--part path` or `--part setup` runs one half. Each row is printed as it ends.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

from common import KATA, env_for, load, scratch, stop_warmup, table, timed


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _check(course: Path, number: int, cache: Path) -> list:
    before = load()
    seconds, cpu, done = timed([*KATA, "check", str(number), "--force", "--json"], cwd=course,
                               env=env_for(course, MODULAR_CACHE_DIR=str(cache)), timeout=3 * 3600,
                               expect_rc=None)
    try:
        data = json.loads(done.stdout)
        status, compile_s = data["kata_status"], data.get("compile_s", 0)
    except (ValueError, KeyError):
        status, compile_s = f"rc {done.returncode}", "?"
    row = [f"first `kata check {number}`", status, f"{seconds:.1f}", f"{cpu:.1f}", compile_s,
           f"{_size_mb(cache):.0f}", before]
    print(f"  {row}", file=sys.stderr, flush=True)
    return row


def path(course: Path, tmp: Path) -> list[list]:
    cache = Path(tempfile.mkdtemp(prefix="cold-path-", dir=tmp))
    rows = [_check(course, number, cache) for number in range(1, 13)]
    total = sum(float(r[2]) for r in rows)
    rows.append(["all 12, one after the other", "", f"{total:.0f}", "", "", f"{_size_mb(cache):.0f}", ""])
    return rows


def setup(course: Path, tmp: Path, everything: bool = False, katas=range(1, 22)) -> list[list]:
    cache = Path(tempfile.mkdtemp(prefix="cold-setup-", dir=tmp))
    before = load()
    started = time.strftime("%H:%M")
    command = [*KATA, "setup", *(["--all"] if everything else [])]
    seconds, cpu, done = timed(command, cwd=course, timeout=3 * 3600, expect_rc=None,
                               env=env_for(course, MODULAR_CACHE_DIR=str(cache)))
    rows = [[f"`{' '.join(command[-2:] if everything else command[-1:])}` (started {started} UTC)",
             f"rc {done.returncode}", f"{seconds:.0f}", f"{cpu:.0f}", "", f"{_size_mb(cache):.0f}",
             before]]
    print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    for number in katas:
        rows.append(_check(course, number, cache))
        rows[-1][0] = f"then the first `kata check {number}`"
    return rows


def walk(course: Path, tmp: Path, katas, pause: float, warmer: bool) -> list[list]:
    """Each kata's first check after `pause` seconds, in order (the first one at once), on an empty
    cache; the warm-up starts on the first command, as it does for a learner."""
    cache = Path(tempfile.mkdtemp(prefix="cold-walk-", dir=tmp))
    home = Path(tempfile.mkdtemp(prefix="walk-home-", dir=tmp))
    models = Path.home() / ".cache" / "kata" / "models"  # SmolLM2's file: a download is not a compile
    extra = dict(MODULAR_CACHE_DIR=str(cache), HOME=str(home), KATA_MODEL_CACHE=str(models),
                 KATA_NO_WARM="0" if warmer else "1")
    rows = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the warm-up is stopped too
    try:
        for index, number in enumerate(katas):
            if index:
                time.sleep(pause)
            before = load()
            seconds, cpu, done = timed([*KATA, "check", str(number), "--json"], cwd=course,
                                       env=env_for(course, **extra), timeout=3 * 3600, expect_rc=None)
            try:
                data = json.loads(done.stdout)
                status, compile_s = data["kata_status"], data.get("compile_s", 0)
            except (ValueError, KeyError):
                status, compile_s = f"rc {done.returncode}", "?"
            rows.append([f"kata {number}", status, f"{seconds:.1f}", f"{cpu:.1f}", compile_s,
                         f"{_size_mb(cache):.0f}", before, _warmed_so_far(home)])
            print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    finally:
        stop_warmup(course, env_for(course, **extra), home)
    waits = [float(r[2]) for r in rows[1:]]
    rows.append([f"katas {katas[1]}-{katas[-1]}: total / worst first check", "", f"{sum(waits):.0f}",
                 "", "", "", "", f"worst {max(waits):.1f} s" if waits else ""])
    return rows


def _warmed_so_far(home: Path) -> str:
    """The katas the warm-up had finished when a check ended (its own state file)."""
    folder = home / ".cache" / "kata" / "warm"
    states = [json.loads(p.read_text()) for p in folder.glob("*/state.json")] if folder.is_dir() else []
    done = sorted(int(n) for state in states for n in state.get("warmed", {}))
    return ",".join(map(str, done)) or "-"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=("path", "setup", "walk"), action="append",
                        help="Run only this part (repeatable). Default: path and setup.")
    parser.add_argument("--pause", type=float, default=180, help="walk: seconds between checks")
    parser.add_argument("--no-warmer", action="store_true", help="walk: without the warm-up")
    parser.add_argument("--all", action="store_true", help="setup: `kata setup --all`")
    parser.add_argument("--katas", default="1-21",
                        help="setup, walk: the katas checked (1-21, 7, ...)")
    args = parser.parse_args(argv)
    first, _, last = args.katas.partition("-")
    katas = range(int(first), int(last or first) + 1)
    rows = []
    with scratch("bench-cold-") as (tmp, course):
        for part in args.part or ("path", "setup"):
            if part == "walk":
                rows += walk(course, tmp, list(katas), args.pause, not args.no_warmer)
            else:
                rows += path(course, tmp) if part == "path" else setup(course, tmp, args.all, katas)
    header = ["what", "result", "wall s", "CPU s", "of it MAX compiling, s", "cache MB after",
              "load before", "warmed by then"]
    return table(header, [row + [""] * (len(header) - len(row)) for row in rows])


if __name__ == "__main__":
    print(main())
