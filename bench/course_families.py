"""Which of MAX's eager op families the course uses (maintainers'): `kata dev verify` of every
kata (each skeleton and each reference solution through the hidden tests and fresh inputs), with
bench/family_recorder.py in every check's child, then the families it saw beside the ones
`kata setup` compiles (checker/play/warmup.COURSE_FAMILIES).

    python bench/course_families.py [KATA ...]

prints one JSON object: used, compiled by kata setup, used but not compiled (must be empty),
and the seconds it took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import family_recorder  # noqa: E402

from checker.play.warmup import COURSE_FAMILIES  # noqa: E402


def main(katas: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="kata-families-") as tmp:
        log = Path(tmp) / "families.log"
        env = dict(os.environ, PYTEST_PLUGINS="family_recorder", **{family_recorder.LOG: str(log)},
                   PYTHONPATH=os.pathsep.join([str(REPO / "bench"), os.environ.get("PYTHONPATH", "")]))
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "checker.cli", "dev", "verify", *katas],
                              cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        used = family_recorder.read(log)
    report = {"verify_exit": done.returncode, "seconds": round(time.monotonic() - began, 1),
              "used": sorted(used), "compiled_by_kata_setup": sorted(COURSE_FAMILIES),
              "used_not_compiled": sorted(used - set(COURSE_FAMILIES))}
    print(json.dumps(report, indent=1))
    return 0 if done.returncode == 0 and not report["used_not_compiled"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
