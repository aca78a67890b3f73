"""Table 1: check latency on a warm MAX cache. For each kata, the median wall time of the whole
`kata check N --force` command with the reference solution in place, next to its floor: a bare
Python process that imports what the kata needs and runs the reference component once on the
golden input (bench/floor.py). Also the fixed costs every check pays (table 1b).

--baseline DIR times another version of the checker, interleaved with this one, so both see the
same load: a whole course checkout (a folder with curriculum.yaml, e.g. a git worktree of an
older commit), or just a checker/ package to put into a copy of this course."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import FLOORED, KATA, baseline_course, env_for, floor, load, median, scratch, table, timed

GOAL_RATIO, GOAL_S = 1.5, 3.0
WARM_GOAL_S = 8.0  # issue 19: every warm check at most 8 s


def _samples(command, course, reps, env_extra=None):
    return [timed(command, cwd=course, env=env_for(course, **(env_extra or {})))[:2]
            for _ in range(reps)]


def overheads(course: Path, reps: int) -> str:
    """What every check pays before the learner's code runs."""
    python = sys.executable
    probes = {
        "bare `python -c pass`": [python, "-c", "pass"],
        "import the parent CLI (checker.cli)": [python, "-c", "import checker.cli"],
        "`kata list`": [*KATA, "list"],
        "import MAX's eager API (after the SIGINT fix)": [
            python, "-c", "from checker.child import sigint; sigint.install(); import max.experimental."
                          "tensor, max.experimental.nn, max.experimental.functional"],
        "pytest + pytest-check + checker plugin, no test": [
            python, "-m", "pytest", "--co", "-q", "-p", "pytest_check.plugin", "-p", "checker.child.plugin",
            "-c", "checker/course/pytest.ini", "checker/course/conftest.py"],
    }
    rows = []
    for what, command in probes.items():
        runs = [timed(command, cwd=course, env=env_for(course, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
                      expect_rc=None)[:2] for _ in range(reps)]
        rows.append([what, f"{median([w for w, _ in runs]):.2f}", f"{median([c for _, c in runs]):.2f}",
                     load()])
    return table(["fixed cost", "wall s (median)", "cpu s", "load"], rows)


def _numbers(text: str) -> list[int]:
    numbers = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        numbers += range(int(first), int(last or first) + 1)
    return numbers


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--katas", default="1-12", help="e.g. 1-22, or 3,7,12")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="Another course checkout, or checker/ folder, to time alongside.")
    args = parser.parse_args(argv)
    rows = []
    with scratch("bench-check-") as (tmp, course):
        base = baseline_course(tmp, args.baseline)
        for number in _numbers(args.katas):
            check, floor_runs, before, loads = [], [], [], []
            for _ in range(args.reps):  # interleaved, so all see the same load
                loads.append(load())
                check += _samples([*KATA, "check", str(number), "--force"], course, 1)
                if number in FLOORED:
                    command, extra = floor(course, number)
                    floor_runs += _samples(command, course, 1, extra)
                if base:  # its own checker on both sides: the parent's judgement is part of a check
                    before += _samples([*KATA, "check", str(number), "--force"], base, 1,
                                       {"PYTHONPATH": str(base)})
            c = median([w for w, _ in check])
            if floor_runs:
                f = median([w for w, _ in floor_runs])
                ratio = c / f
                met = "yes" if ratio <= GOAL_RATIO and c < GOAL_S else "no"
                row = [number, f"{c:.2f}", f"{median([u for _, u in check]):.2f}", f"{f:.2f}",
                       f"{median([u for _, u in floor_runs]):.2f}", f"{ratio:.2f}", met,
                       "yes" if c <= WARM_GOAL_S else "no"]
            else:  # no floor for this kata (bench/floor.py covers Part 1)
                row = [number, f"{c:.2f}", f"{median([u for _, u in check]):.2f}", "-", "-", "-", "-",
                       "yes" if c <= WARM_GOAL_S else "no"]
            if base:
                row += [f"{median([w for w, _ in before]):.2f}", f"{median([u for _, u in before]):.2f}"]
            rows.append(row + [" ".join(loads)])
            print(f"  kata {number}: check {c:.2f} s, floor {row[3]} s", file=sys.stderr, flush=True)
        header = ["kata", "check wall s", "check cpu s", "floor wall s", "floor cpu s",
                  "check/floor", f"goal (<= {GOAL_RATIO}x, < {GOAL_S:g} s)", f"<= {WARM_GOAL_S:g} s"]
        if base:
            header += ["before: wall s", "before: cpu s"]
        result = table(header + ["loads"], rows)
        return result + "\n\n" + overheads(course, args.reps)


if __name__ == "__main__":
    print(main())
