"""Table 2: cold start, as a learner on a new machine meets it. MAX is pointed at an empty cache
folder (MODULAR_CACHE_DIR; the shared ~/.cache/modular is never touched), then:

  path   the first `kata check N` of every kata, 1 to 12 in order, with the reference
         solutions, all on that one cache (a learner's first evening without `kata setup`):
         each check's wall time, the seconds MAX spent compiling in it (the check's
         `compile_s`), and the cache's size after it;
  setup  `kata setup` (the op families the course uses; `--all`: MAX's warm-interpreter-cache)
         on another empty cache, then the first check of every kata (1 to 21: --katas to
         choose) on the cache it filled, each with the seconds MAX spent compiling in it.

Expensive (minutes to an hour on 2 cores): run it alone, e.g. `python bench/run_all.py --table
cold`; `--part path` or `--part setup` runs one half. Each row is printed as it ends.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import KATA, env_for, load, scratch, table, timed


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


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=("path", "setup"), action="append",
                        help="Run only this part (repeatable). Default: both.")
    parser.add_argument("--all", action="store_true", help="setup: `kata setup --all`")
    parser.add_argument("--katas", default="1-21", help="setup: the katas checked after it (1-21, 7, ...)")
    args = parser.parse_args(argv)
    first, _, last = args.katas.partition("-")
    katas = range(int(first), int(last or first) + 1)
    rows = []
    with scratch("bench-cold-") as (tmp, course):
        for part in args.part or ("path", "setup"):
            rows += (path(course, tmp) if part == "path" else setup(course, tmp, args.all, katas))
    return table(["what", "result", "wall s", "CPU s", "of it MAX compiling, s", "cache MB after",
                  "load before"], rows)


if __name__ == "__main__":
    print(main())
