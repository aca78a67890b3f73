"""Table 2: cold start. Each measurement points MAX at its own empty cache folder
(MODULAR_CACHE_DIR; the shared ~/.cache/modular is never touched) and times, as a learner on a
new machine would meet them: the first `kata check 2`, the first `kata check 7`, and `kata setup`
(MAX's warm-interpreter-cache), then a check on the cache that setup filled.

Expensive (minutes to tens of minutes on 2 cores): run it alone, e.g. `nice python
bench/run_all.py --table cold`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import KATA, env_for, load, scratch, table, timed


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _cold(course: Path, command: list[str], folder: Path, name: str, cache: Path | None = None):
    cache = cache or Path(tempfile.mkdtemp(prefix=f"cold-{name}-", dir=folder))
    env = env_for(course, MODULAR_CACHE_DIR=str(cache))
    before = load()
    seconds, _, done = timed(command, cwd=course, env=env, timeout=3 * 3600)
    compiled = sum(1 for line in (done.stdout + done.stderr).splitlines() if "compiled MAX kernels" in line)
    print(f"  {' '.join(command[3:])}: {seconds:.0f} s, {compiled} compiles", file=sys.stderr, flush=True)
    return seconds, cache, before, compiled


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-setup", action="store_true", help="Only the two first checks.")
    args = parser.parse_args(argv)
    rows = []
    with scratch("bench-cold-") as (tmp, course):
        for number in (2, 7):
            seconds, cache, before, compiled = _cold(course, [*KATA, "check", str(number), "--force"],
                                                     tmp, f"k{number}")
            rows.append([f"first `kata check {number}`, empty cache", f"{seconds:.0f}",
                         f"{compiled} op families compiled", f"{_size_mb(cache):.0f}", before])
            shutil.rmtree(cache)
        if not args.skip_setup:
            seconds, cache, before, _ = _cold(course, [*KATA, "setup"], tmp, "setup")
            rows.append(["`kata setup`, empty cache", f"{seconds:.0f}", "all families",
                         f"{_size_mb(cache):.0f}", before])
            for number in (2, 7):
                seconds, _, before, compiled = _cold(course, [*KATA, "check", str(number), "--force"],
                                                     tmp, "after", cache=cache)
                rows.append([f"`kata check {number}` after that setup", f"{seconds:.1f}",
                             f"{compiled} op families compiled", f"{_size_mb(cache):.0f}", before])
            check = subprocess.run([str(Path(KATA[0]).with_name("max")), "warm-interpreter-cache",
                                    "--check"], env=env_for(course, MODULAR_CACHE_DIR=str(cache)),
                                   capture_output=True)
            rows.append(["`max warm-interpreter-cache --check` on it", f"rc {check.returncode}", "",
                         f"{_size_mb(cache):.0f}", load()])
    return table(["what", "seconds", "compiles seen", "cache MB after", "load before"], rows)


if __name__ == "__main__":
    print(main())
