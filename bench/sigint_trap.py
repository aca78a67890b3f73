"""Table 4: the Python 3.11 SIGINT trap (shared/MAX-NOTES.md). The same `kata check N` with the
fix (as shipped) and without it (bench/without_sigint_fix/ on PYTHONPATH turns
checker.child.sigint.install into a no-op in every process). A regression of the fix shows as the
"with" column drifting towards the "without" one; tests/test_sigint_fix.py is the check that
fails, by behaviour, when the fix is gone."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common import KATA, env_for, floor, load, median, scratch, table, timed

WITHOUT = Path(__file__).resolve().parent / "without_sigint_fix"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--katas", default="3,11")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    with scratch("bench-sigint-") as (_, course):
        for number in map(int, args.katas.split(",")):
            commands = {f"`kata check {number}`": ([*KATA, "check", str(number), "--force"], {}),
                        f"floor {number} (plain eager, bench/floor.py)": floor(course, number)}
            for what, (command, extra) in commands.items():
                walls, cpus, loads = {"with": [], "without": []}, {"with": [], "without": []}, []
                for _ in range(args.reps):
                    for mode in ("with", "without"):
                        env = env_for(course, **extra)
                        if mode == "without":
                            env["PYTHONPATH"] = os.pathsep.join([str(WITHOUT), env["PYTHONPATH"]])
                        loads.append(load())
                        wall, cpu, _ = timed(command, cwd=course, env=env)
                        walls[mode].append(wall)
                        cpus[mode].append(cpu)
                        print(f"  {what} {mode} fix: {wall:.1f} s", file=sys.stderr, flush=True)
                w, wo = median(walls["with"]), median(walls["without"])
                rows.append([what, f"{w:.1f}", f"{median(cpus['with']):.1f}", f"{wo:.1f}",
                             f"{median(cpus['without']):.1f}", f"{wo / w:.1f}x", args.reps,
                             " ".join(loads)])
    return table(["what", "with fix: wall s", "cpu s", "without: wall s", "cpu s", "slowdown",
                  "runs", "loads"], rows)


if __name__ == "__main__":
    print(main())
