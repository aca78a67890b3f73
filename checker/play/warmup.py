"""`kata setup`: compiles MAX's eager kernels for this machine once, with MAX's own progress."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console


def _max_command() -> list[str] | None:
    exe = Path(sys.executable).with_name("max")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("max")
    return [found] if found else None


def warm(console: Console) -> int:
    command = _max_command()
    if command is None:
        console.print("The `max` command is not installed here. Run: pip install -e .", style="red")
        return 2
    check = subprocess.run([*command, "warm-interpreter-cache", "--check"], capture_output=True)
    if check.returncode == 0:
        console.print("MAX's kernels are already compiled for this machine: checks start fast.")
        return 0
    console.print("Compiling every MAX operation for this machine, once: about 400 MB, and about "
                  "12 minutes on an idle 2-core machine (much longer while other work runs; see "
                  "bench/RESULTS.md, table 2). Afterwards every check starts in seconds. Without "
                  "it, the first checks compile what the course uses as they go (a few minutes for "
                  "some katas).")
    return subprocess.call([*command, "warm-interpreter-cache"])
