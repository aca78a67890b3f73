"""The check's private copy of what its child reads: the learner's katas and the fixtures.

The child runs in this copy (its working folder and KATA_ROOT), so learner code that writes into
fixtures/ or .kata/ -- by a relative path, next to its own file, or under KATA_ROOT -- changes
only the copy: the course's golden files and the learner's progress stay whole. The parent then
sees the write and says so, and a check whose code wrote there never counts. Writes to the real
course by absolute path are caught for fixtures/ (their stat is compared before and after).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file under `folder` (relative name) with its size and modification time."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Sandbox:
    root: Path  # the copy the child works in
    course: Path  # the learner's real course folder
    fixtures: Path  # the real fixtures in use
    learner_file: Path  # the copy of the file under test
    deps_dir: Path  # the copy of the katas the file imports
    _names: dict  # copied path -> the path to show the learner
    _before: dict
    _real_before: dict

    @property
    def box_fixtures(self) -> Path:
        return self.root / "fixtures"

    def writes(self) -> list[str]:
        """What the child changed that it must not: fixtures (copy or real) and .kata/."""
        changed = []
        after = _snapshot(self.box_fixtures)
        for name in sorted(set(self._before) | set(after)):
            if self._before.get(name) != after.get(name):
                changed.append(f"fixtures/{name}")
        real_after = _snapshot(self.fixtures)
        changed += [f"{self.fixtures}/{name} (the course's own copy)"
                    for name in sorted(set(self._real_before) | set(real_after))
                    if self._real_before.get(name) != real_after.get(name)]
        if (self.root / ".kata").exists():
            changed.append(".kata/")
        return changed

    def unbox(self, text: str | None) -> str | None:
        """Paths of the copy, written as the learner knows them."""
        if not text:
            return text
        for copied, shown in self._names.items():
            text = text.replace(copied, shown)
        return text.replace(str(self.root), str(self.course))


# Every check verifies its fixtures against the manifest; the rest each kata lists in curriculum.yaml.
ALWAYS = ("manifest.json",)


def build(tmp: Path, course: Path, fixtures: Path, names: tuple[str, ...], learner_file: Path,
          deps_dir: Path, module_file: str) -> Sandbox:
    """Copies the katas the check imports, the file under test (as `module_file`, e.g.
    katas/step_03.py) and the fixtures it reads (`names` and ALWAYS) into tmp/course."""
    root = tmp / "course"
    deps = root / Path(module_file).parent
    shutil.copytree(deps_dir, deps, ignore=IGNORE)
    target = root / module_file
    shutil.copyfile(learner_file, target)
    for name in dict.fromkeys(ALWAYS + tuple(names)):
        if (fixtures / name).is_file():  # a missing one is reported by the child, as usual
            (root / "fixtures" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(fixtures / name, root / "fixtures" / name)
    names = {str(target): _shown(learner_file, course)}
    names.update({str(deps / p.name): _shown(p, course) for p in deps_dir.glob("*.py")
                  if deps / p.name != target})
    return Sandbox(root, course, fixtures, target, deps, names, _snapshot(root / "fixtures"),
                   _snapshot(fixtures))


def _shown(path: Path, course: Path) -> str:
    try:
        return str(path.resolve().relative_to(course))
    except ValueError:
        return str(path)
