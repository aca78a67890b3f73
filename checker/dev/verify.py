"""`kata dev verify`: proves, kata by kata, that the course itself is sound.

For each kata: its fixtures match the manifest, its untouched skeleton FAILS its hidden tests
(with messages, not a crash), and its reference solution PASSES them. Earlier katas come from the
reference solutions, so each kata is judged on its own.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from checker.check.service import check_kata
from checker.curriculum import Curriculum, Kata
from checker.fixture_files import sha256_of, verify_all
from checker.paths import fixtures_dir


def solution_katas(curriculum: Curriculum, dest: Path) -> Path:
    """A katas/ folder made of the reference solutions (each kata folder's solution.py under the
    learner's file name, e.g. step_07.py): what later katas import when a kata is verified alone."""
    dest.mkdir(parents=True, exist_ok=True)
    for kata in curriculum.available:
        shutil.copyfile(curriculum.root / kata.solution, dest / Path(kata.file).name)
    return dest


def verify_kata(curriculum: Curriculum, kata: Kata, solutions: Path | None = None) -> list[str]:
    """Problems found with one kata (empty when it is sound). `solutions`: a solution_katas()
    folder (made here when not given)."""
    if solutions is None:
        with tempfile.TemporaryDirectory(prefix="kata-solutions-") as tmp:
            return verify_kata(curriculum, kata, solution_katas(curriculum, Path(tmp)))
    root = curriculum.root
    problems = verify_all(fixtures_dir(root), kata.fixtures)
    if problems:
        return problems
    skeleton_sha = sha256_of(root / kata.file)
    if kata.skeleton_sha256 and skeleton_sha != kata.skeleton_sha256:
        problems.append(f"{kata.file} is not the skeleton curriculum.yaml records; if you changed "
                        f"it on purpose, set skeleton_sha256: {skeleton_sha}")
    skeleton = check_kata(curriculum, None, kata, learner_file=root / kata.file, deps_dir=solutions)
    if skeleton.status != "fail":
        problems.append(f"the skeleton {kata.file} should fail its hidden tests cleanly, but the "
                        f"check said {skeleton.status}: {skeleton.message}")
    elif not all(t.get("message") for t in skeleton.tests if t["status"] == "fail"):
        problems.append(f"the skeleton {kata.file} fails without saying why in some test")
    solution = check_kata(curriculum, None, kata, learner_file=root / kata.solution,
                          deps_dir=solutions)
    if solution.status != "pass":
        failing = "; ".join(f"{t['name']}: {t.get('message')}" for t in solution.tests
                            if t["status"] != "pass") or solution.message
        problems.append(f"the reference solution {kata.solution} should pass, but the check "
                        f"said {solution.status}: {failing}")
    return problems


def verify_katas(curriculum: Curriculum, katas: list[Kata], console: Console) -> bool:
    with tempfile.TemporaryDirectory(prefix="kata-solutions-") as tmp:
        return _verify_each(curriculum, katas, console, solution_katas(curriculum, Path(tmp)))


def _verify_each(curriculum: Curriculum, katas: list[Kata], console: Console, solutions: Path) -> bool:
    ok = True
    for kata in katas:
        console.print(f"kata {kata.number:2d} {escape(kata.title)} ... ", end="")
        problems = verify_kata(curriculum, kata, solutions)
        if problems:
            ok = False
            console.print("[red]FAILED[/]")
            for problem in problems:
                console.print(f"    {escape(problem)}", highlight=False)
        else:
            console.print("[green]ok[/] (fixtures verify, skeleton fails, solution passes)")
    return ok


