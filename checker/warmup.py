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
    console.print("Compiling MAX's kernels for this machine. This happens once and takes about "
                  "10-15 minutes on a 2-core laptop; afterwards every check starts in seconds.")
    return subprocess.call([*command, "warm-interpreter-cache"])
