"""`kata setup`: compiles, once, the MAX kernels the course uses for this machine.

MAX 26.7 compiles each eager operation the first time a machine uses it; `kata setup` does it
ahead of time for the op families the course's reference solutions use (checker.play.warm_course,
in its own process), and `kata setup --all` runs MAX's own `max warm-interpreter-cache`, which
compiles every family MAX has.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from checker.play.warm_course import NO_HOOK  # its exit status where MAX cannot warm a subset

# The op families the course's reference solutions use in their checks (bench/course_families.py
# lists them; tests/test_verify.py holds this list against a verify of the whole course), and four
# that correct learner files use too: band_part (kata 2 as a band), cast (.cast on a tensor),
# rms_norm (F.rms_norm in kata 13) and random (sampling in MAX). A family outside the list still
# works after `kata setup`: MAX compiles all of it the first time something uses it.
COURSE_FAMILIES = ("band_part", "binary", "cast", "data_movement", "gather", "layer_norm", "matmul",
                   "random", "range", "reduce_axis", "rms_norm", "scatter", "select",
                   "shape_rearrange", "topk", "unary")



def max_command() -> list[str] | None:
    exe = Path(sys.executable).with_name("max")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("max")
    return [found] if found else None


def warm(console: Console, everything: bool = False) -> int:
    command = max_command()
    if command is None:
        console.print("The `max` command is not installed here. Run: pip install -e .", style="red")
        return 2
    if not everything:
        check = subprocess.run([*command, "warm-interpreter-cache", "--check"], capture_output=True)
        if check.returncode == 0:
            console.print("MAX's kernels are already compiled for this machine: checks start fast.")
            return 0
        console.print(COURSE_NOTICE)
        code = subprocess.call([sys.executable, "-m", "checker.play.warm_course", *COURSE_FAMILIES])
        if code != NO_HOOK:
            return code
        console.print("This MAX cannot compile only the course's operations: compiling all of them.")
    console.print(EVERYTHING_NOTICE)
    return subprocess.call([*command, "warm-interpreter-cache", *(["--force"] if everything else [])])


COURSE_NOTICE = ("Compiling the MAX operations the course uses for this machine, once: about 430 MB, "
                 "and about 7 minutes on an idle 2-core machine (much longer while other work runs; "
                 "see bench/RESULTS.md, section 14). Afterwards every check starts in seconds. "
                 "`kata setup --all` compiles every MAX operation instead.")
EVERYTHING_NOTICE = ("Compiling every MAX operation for this machine, once: about 400 MB, and about "
                     "12 minutes on an idle 2-core machine (much longer while other work runs; see "
                     "bench/RESULTS.md, table 2).")
