"""Shared helpers for the project's own tests: a throwaway copy of the course, and the CLI.

Every test that runs checks or writes progress works on a copy of the course in tmp_path, so the
repository's own katas/ and .kata/ are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LEARNERS = Path(__file__).resolve().parent / "learners"


def _numbers(released_only: bool = False) -> list[int]:
    from checker.curriculum import load_curriculum

    curriculum = load_curriculum(REPO)
    return [k.number for k in (curriculum.available if released_only else curriculum.katas)]


KATAS = len(_numbers())  # how many katas the course lists (curriculum.yaml), released or not
RELEASED = _numbers(released_only=True)  # the released katas' numbers, in order: what --all checks
# (a kata still being written may sit between released ones: Part 3 released 20-21 before 19)
AVAILABLE = len(RELEASED)  # how many are released

# The checker's child process finds `checker` through PYTHONPATH=<course root>, so a course copy
# must hold the whole checker package (hidden tests and solutions included), as a clone does.
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".kata", "*.egg-info")


def copy_course(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "curriculum.yaml", dest / "curriculum.yaml")
    for folder in ("katas", "fixtures", "checker"):
        shutil.copytree(REPO / folder, dest / folder, ignore=_IGNORE)
    return dest


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A fresh copy of the course (curriculum, skeletons, fixtures, hidden tests, solutions)."""
    return copy_course(tmp_path / "course")


def place_learner(course: Path, source: str | Path, number: int | None = None) -> Path:
    """Copies a learner file (a name in tests/learners/, or a path) over katas/step_NN.py.

    NN defaults to the number in the source's name (step_03_by_hand.py -> katas/step_03.py).
    """
    src = Path(source)
    if not src.is_absolute():
        src = LEARNERS / src
    if number is None:
        number = int(src.name.split("_")[1])
    target = course / "katas" / f"step_{number:02d}.py"
    shutil.copyfile(src, target)
    return target


def solution_path(number: int, root: Path = REPO) -> Path:
    """Kata NUMBER's reference solution, in its folder (curriculum.yaml says which)."""
    from checker.curriculum import load_curriculum

    return root / load_curriculum(root).get(number).solution


def place_solution(course: Path, number: int) -> Path:
    return place_learner(course, solution_path(number, course), number)


@pytest.fixture(scope="session")
def solutions(tmp_path_factory) -> Path:
    """A katas/ folder of the reference solutions (step_NN.py), as `kata dev verify` uses."""
    from checker.curriculum import load_curriculum
    from checker.dev.verify import solution_katas

    return solution_katas(load_curriculum(REPO), tmp_path_factory.mktemp("solutions"))


def kata_env(course: Path) -> dict:
    env = dict(os.environ)
    env["KATA_ROOT"] = str(course)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "200"  # rich wraps long lines at the terminal width; keep messages whole
    env.pop("PYTEST_ADDOPTS", None)
    return env


# No background warm-up from the suite's own `kata` commands (each would check the rest of the course
# beside the tests); tests/test_background_warm.py switches it on where it is the subject.
os.environ["KATA_NO_WARM"] = "1"


@pytest.fixture(scope="session", autouse=True)
def _kept_chat_weights(tmp_path_factory):
    """kata chat's kept load_gguf results and compiled graphs (about 600 MB) in one folder for
    the whole session, not in the user's ~/.cache: each chat after the first starts in seconds.
    A test about keeping them sets its own folder."""
    os.environ.setdefault("KATA_WEIGHTS_CACHE", str(tmp_path_factory.mktemp("kata-weights")))


def run_kata_cli(course: Path, *args: str, timeout: float = 300) -> tuple[int, str, str]:
    """Runs the `kata` command (checker.cli:main, as the console script does) on `course`."""
    proc = subprocess.run(
        [sys.executable, "-c", "from checker.cli import main; main()", *map(str, args)],
        cwd=course if course.is_dir() else course.parent, env=kata_env(course), capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stdout, proc.stderr


def messages_of(result) -> str:
    """A check result's own message and every test's message, as one text to search."""
    return "\n".join([result.message or ""] + [t.get("message") or "" for t in result.tests])


def assert_no_traceback(*outputs: str) -> None:
    for text in outputs:
        assert "Traceback" not in text, text


def mutate(number: int, replacements, folder: Path) -> Path:
    """A learner file made from kata NUMBER's reference solution with one mistake put in:
    each (old, new) replacement must apply, so a changed solution fails loudly here."""
    source = solution_path(number).read_text()
    for old, new in replacements:
        assert old in source, f"kata {number}'s solution changed: {old!r} is gone; update the mutant"
        source = source.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{number:02d}.py"
    path.write_text(source)
    return path
