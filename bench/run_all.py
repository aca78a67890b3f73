"""The benchmarks of bench/RESULTS.md, in one command:

    python bench/run_all.py                 # all four tables (cold start alone takes ~30+ min)
    python bench/run_all.py --table check   # one table: check | cold | generation | sigint
    python bench/run_all.py --quick         # a seconds-long smoke run of every script (tests)

It prints the machine, then each table in Markdown; paste them into bench/RESULTS.md. The
machines are shared and noisy: each row records the load average it ran under.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_latency  # noqa: E402
import cold_start  # noqa: E402
import generation  # noqa: E402
import sigint_trap  # noqa: E402
from common import machine  # noqa: E402

TABLES = {
    "check": ("1. Check latency, warm MAX cache", check_latency.main, ["--katas", "1,3", "--reps", "1"]),
    "cold": ("2. Cold start, empty MAX cache", cold_start.main, None),
    "generation": ("3. Generation speed", generation.main,
                   ["--models", "tiny", "--paths", "batched", "--tokens", "2"]),
    "sigint": ("4. The Python 3.11 SIGINT trap", sigint_trap.main, ["--katas", "1", "--reps", "1"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--table", choices=sorted(TABLES), action="append",
                        help="Run only this table (repeatable). Default: all.")
    parser.add_argument("--quick", action="store_true",
                        help="Tiny settings that prove the scripts work (numbers meaningless); "
                             "skips the cold start, which cannot be quick.")
    args = parser.parse_args(argv)
    names = args.table or list(TABLES)
    print(machine(), flush=True)
    for name in names:
        title, run, quick = TABLES[name]
        if args.quick and quick is None:
            print(f"\n## {title}\n\n(skipped with --quick)")
            continue
        print(f"\n## {title}\n", flush=True)
        print(run(quick if args.quick else []), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
