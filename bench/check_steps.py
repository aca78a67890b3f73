"""Where one check's seconds go: kata N's check (the reference solution, warm MAX cache) run
through the check service as `kata check` runs it, with each hidden test's duration (the child's
result file), the moment each step the check says on its live line began, when the child ended,
when the parent's own answer to the fresh inputs was ready and when its judgement was done; the
check's CPU time (its child, and the parent's thread). bench/RESULTS.md section 8 ("Kata 18 in
seconds") is made with it:

    python bench/check_steps.py 18 --reps 3 --baseline OTHER/checker

--baseline DIR times another checker (a course checkout, or a checker/ package put into a copy of
this course) interleaved with this one, so that both see the same load; a checker without steps
shows its tests' durations only."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from common import baseline_course, load, machine, scratch

# Run in a process of its own per check, with the checker under test first on sys.path.
PROBE = r"""
import json, os, resource, sys, time
from pathlib import Path
course, number = Path(sys.argv[1]), int(sys.argv[2])
from checker.curriculum import load_curriculum
from checker.check import fresh, runner
curriculum = load_curriculum(course)
kata = curriculum.get(number)
t0 = time.monotonic()
marks = []
def on_event(kind, text):
    if kind in ("step", "compiling", "prepare"):
        marks.append([round(time.monotonic() - t0, 2), kind, text])
judge = runner._judge_fresh
def judged(*args, **kwargs):
    marks.append([round(time.monotonic() - t0, 2), "child ended", ""])
    result = judge(*args, **kwargs)
    marks.append([round(time.monotonic() - t0, 2), "parent judged", ""])
    return result
runner._judge_fresh = judged
if hasattr(fresh, "Anticipated"):
    work = fresh.Anticipated._run
    def ready(self, *args):
        work(self, *args)
        marks.append([round(time.monotonic() - t0, 2), "parent's answer ready", ""])
    fresh.Anticipated._run = ready
result = runner.run_kata(curriculum, kata, on_event=on_event)
child = resource.getrusage(resource.RUSAGE_CHILDREN)
me = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": round(time.monotonic() - t0, 2), "status": result.status,
                  "child_cpu": round(child.ru_utime + child.ru_stime, 1),
                  "parent_cpu": round(me.ru_utime + me.ru_stime, 1), "marks": marks,
                  "tests": [[t["name"], t["status"], t.get("duration_s")] for t in result.tests]}))
"""


def one(course: Path, number: int) -> dict:
    env = dict(os.environ, KATA_ROOT=str(course), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(course))  # the course copy's own checker, parent and child alike
    before = load()
    done = subprocess.run([sys.executable, "-c", PROBE, str(course), str(number)], cwd=course,
                          env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]), load=f"{before}-{load()}")


def show(label: str, run: dict) -> str:
    lines = [f"{label}: {run['wall']:.1f} s, {run['status']}, child CPU {run['child_cpu']} s, "
             f"parent CPU {run['parent_cpu']} s, load {run['load']}"]
    lines += [f"    {name}: {seconds} s ({status})" for name, status, seconds in run["tests"]]
    lines += [f"    at {t:6.1f} s  {kind}{': ' + text if text else ''}" for t, kind, text in run["marks"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kata", type=int)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args(argv)
    out = [machine()]
    with scratch("bench-steps-") as (tmp, course):
        base = baseline_course(tmp, args.baseline)
        for rep in range(1, args.reps + 1):  # interleaved, so both see the same load
            out.append(show(f"this checker, run {rep}", one(course, args.kata)))
            print(out[-1], file=sys.stderr, flush=True)
            if base:
                out.append(show(f"baseline, run {rep}", one(base, args.kata)))
                print(out[-1], file=sys.stderr, flush=True)
    return "\n".join(out)


if __name__ == "__main__":
    print(main())
