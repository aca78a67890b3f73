"""The benchmarks still run (bench/run_all.py --quick: tiny settings, not timed)."""

import subprocess
import sys

from conftest import REPO


def test_bench_scripts_run_quickly():
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run_all.py"), "--quick"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for title in ("1. Check latency", "3. Generation speed", "4. The Python 3.11 SIGINT trap",
                  "fixed cost", "| tiny | batched |"):
        assert title in done.stdout, done.stdout
    assert "| tiny | batched | 8 | 2 |" in done.stdout and "| yes |" in done.stdout, done.stdout
