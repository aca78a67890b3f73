"""What every benchmark shares: a course copy with the reference solutions in katas/, timing of
whole commands, medians, and the machine the numbers come from."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/run_all.py` from a clone, without PYTHONPATH
    sys.path.insert(0, str(REPO))

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".kata", "*.egg-info")


def solved_course(dest: Path, source: Path = REPO) -> Path:
    """A copy of the course at `source` whose katas/ hold the reference solutions: what a learner
    who has finished every kata has."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "curriculum.yaml", dest / "curriculum.yaml")
    for folder in ("katas", "fixtures", "checker"):
        shutil.copytree(source / folder, dest / folder, ignore=_IGNORE, dirs_exist_ok=True)
    old_layout = dest / "checker" / "solutions"  # before one-kata-one-place: all in one folder
    if list(old_layout.glob("step_*.py")):
        for solution in sorted(old_layout.glob("step_*.py")):
            shutil.copyfile(solution, dest / "katas" / solution.name)
        return dest
    from checker.curriculum import load_curriculum
    from checker.dev.verify import solution_katas

    solution_katas(load_curriculum(dest), dest / "katas")
    return dest


@contextlib.contextmanager
def scratch(prefix: str):
    """A temporary folder holding a solved course copy: yields (folder, course)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp), solved_course(Path(tmp) / "course")


def baseline_course(tmp: Path, baseline: Path | None) -> Path | None:
    """The course to time beside this one (--baseline): a solved copy of another checkout, or of
    this course with its checker/ folder replaced by another; None without a baseline."""
    if baseline is None:
        return None
    if (baseline / "curriculum.yaml").is_file():
        return solved_course(tmp / "baseline", source=baseline)
    base = solved_course(tmp / "baseline")
    shutil.rmtree(base / "checker")
    shutil.copytree(baseline, base / "checker", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return base

def env_for(course: Path, **extra: str) -> dict:
    """The environment `kata` gets on `course` (the checker imported from this repository)."""
    env = dict(os.environ)
    env.update(KATA_ROOT=str(course), PYTHONDONTWRITEBYTECODE="1", COLUMNS="200",
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    env.pop("PYTEST_ADDOPTS", None)
    env["KATA_NO_WARM"] = "1"  # no background warm-up beside what is timed, unless `extra` asks
    env.update(extra)
    return env


KATA = [sys.executable, "-m", "checker.cli"]
FLOOR = Path(__file__).resolve().parent / "floor.py"
FLOORED = range(1, 100)  # floor.py has a floor for every kata (Part 1's by hand, the others' spec.run)


def floor(course: Path, number: int) -> tuple[list[str], dict]:
    """The command and extra environment of kata NUMBER's floor (bench/floor.py) in `course`:
    the course's own checker and katas, MAX run the way the checker's child runs it."""
    return [sys.executable, str(FLOOR), str(number)], {"PYTHONPATH": str(course),
                                                      "MAX_EAGER_EXECUTOR": "interpreter"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], *, cwd: Path, env: dict, timeout: float = 3600,
          expect_rc: int | None = 0) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds of one whole command, its CPU seconds (it and its children: less sensitive
    than wall time to what else runs on a shared machine), and what it printed."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    if expect_rc is not None and done.returncode != expect_rc:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return seconds, cpu, done


def stop_warmup(course: Path, env: dict, home: Path, seconds: float = 60) -> None:
    """`kata --no-warm` on `course`, then waits until the warm-up whose state is under `home` has
    ended (before a benchmark removes its scratch HOME under it)."""
    timed([*KATA, "--no-warm"], cwd=course, env=env, expect_rc=None)
    deadline = time.monotonic() + seconds
    for state in (home / ".cache" / "kata" / "warm").glob("*/state.json"):
        pid = json.loads(state.read_text()).get("pid")
        while isinstance(pid, int) and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def load() -> str:
    """The 1-minute load average (the machines are shared: numbers move with it)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def machine() -> str:
    """One line per fact: date, CPU, cores, memory, Python and library versions."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "?"
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 ** 2:.0f} GiB"
    except OSError:
        pass
    versions = []
    from importlib import metadata

    for name in ("max", "torch", "transformers", "numpy", "pytest"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return (f"- date: {datetime.datetime.now().isoformat(timespec='minutes')}\n"
            f"- machine: {cpu}, {os.cpu_count()} cores (nproc), {mem} RAM, {platform.system()} "
            f"{platform.release()}\n"
            f"- Python {platform.python_version()}; {', '.join(versions)}\n"
            f"- load average (1 min) at start: {load()}")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
