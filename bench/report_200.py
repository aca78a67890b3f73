"""Times `kata report` on a generated class of 200 learners (the README quotes the result).

Each learner is a course folder with its kata files and a .kata/progress.json, as a bootcamp's
folder of cloned repositories would be, so the report also matches every claimed pass against
its file's sha256. The time is the whole command, Python's start included.

    python bench/report_200.py [--learners 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the generator is shared with the report tests
sys.path.insert(0, str(REPO))

from class_maker import make_class  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kata-report-bench-") as tmp:
        where = Path(tmp)
        make_class(where / "class", args.learners, seed=0, tampered=5)
        env = dict(os.environ, KATA_ROOT=str(REPO),
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        command = [sys.executable, "-c", "from checker.cli import main; main()", "report", "class",
                   "--csv", "class.csv", "--html", "class.html"]
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                print(done.stdout + done.stderr, file=sys.stderr)
                return 1
        rows = (where / "class.csv").read_text().count("\n") - 1
        size = (where / "class.html").stat().st_size
    print(f"kata report, {args.learners} learners ({rows} CSV rows, HTML {size / 1024:.0f} KiB), "
          f"{args.runs} runs: median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
          f"max {max(times):.2f} s")
    print(f"{date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
