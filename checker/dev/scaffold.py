"""`kata dev new SLUG`: a new kata from the template, in every place a kata lives.

A kata is its folder under checker/course/ (hidden tests, reference solution, fresh-input spec),
its learner files under katas/ (skeleton and lesson) and its entry in curriculum.yaml. The
template (checker/templates/kata/) is a complete, checkable kata whose solution is still a TODO,
so `kata dev verify N` says at once what is left to write.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from checker.curriculum import load_curriculum
from checker.errors import KataError
from checker.fixture_files import sha256_of

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "kata"
SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def new_kata(root: Path, slug: str, title: str | None = None) -> list[str]:
    """Writes the new kata's files and curriculum entry; returns the paths written."""
    curriculum = load_curriculum(root)
    if not SLUG.match(slug):
        raise KataError(f"`{slug}` is not a slug: use lowercase words joined by hyphens, "
                        "e.g. rms-norm.")
    if any(k.slug == slug for k in curriculum.katas):
        raise KataError(f"A kata with the slug `{slug}` exists already.")
    number = max((k.number for k in curriculum.katas), default=0) + 1  # after the last, holes or not
    title = title or slug.replace("-", " ").capitalize()
    folder = f"checker/course/kata{number:02d}_{slug.replace('-', '_')}"
    names = {"number": number, "title": title, "slug": slug, "file": f"katas/step_{number:02d}.py",
             "lesson": f"katas/step_{number:02d}.md", "folder": folder}
    targets = {
        "init.py": f"{folder}/__init__.py", "test_kata.py": f"{folder}/test_kata.py",
        "solution.py": f"{folder}/solution.py", "spec.py": f"{folder}/spec.py",
        "skeleton.py": names["file"], "lesson.md": names["lesson"],
    }
    taken = [t for t in targets.values() if (root / t).exists()]
    if taken:
        raise KataError(f"Not overwriting what exists: {', '.join(taken)}.")
    for source, target in targets.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        text = Template((TEMPLATE / source).read_text(encoding="utf-8")).safe_substitute(names)
        (root / target).write_text(text, encoding="utf-8")
    _append_entry(root / "curriculum.yaml", names, sha256_of(root / names["file"]))
    load_curriculum(root)  # the new entry must load, or the course is left as it was
    return list(targets.values()) + ["curriculum.yaml"]


def _append_entry(path: Path, names: dict, skeleton_sha: str) -> None:
    """Appended as text, so the file's comments and layout stay as they are."""
    entry = f"""
  - number: {names['number']}
    uses_max: false  # TODO: true once the kata runs MAX
    slug: {names['slug']}
    title: "{names['title']}"
    file: {names['file']}
    skeleton_sha256: {skeleton_sha}
    lesson: {names['lesson']}
    folder: {names['folder']}
    fixtures: []  # TODO: the golden files its check reads
    time_limit_s: 60
    hints:
      - "TODO: a first, gentle hint."
"""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n" + entry, encoding="utf-8")


def todo_list(number: int, written: list[str]) -> str:
    return "\n".join([
        f"Kata {number} scaffolded: " + ", ".join(written) + ".",
        "Fill in, then run `kata dev verify " + str(number) + "` until it says ok:",
        "  1. the lesson and the skeleton (katas/): the API the learner writes, with TODOs;",
        "  2. solution.py: the reference solution;",
        "  3. test_kata.py: hidden tests against golden data from Hugging Face, naming mistakes;",
        "  4. spec.py: fresh inputs, how to run the learner's code, the right answer (numpy);",
        "  5. golden.py (optional): FAMILY and FIXTURES, so `kata dev fixtures` builds its data;",
        "  6. curriculum.yaml: title, hints, fixtures, uses, uses_max, time limit;",
        "     after editing the skeleton, `kata dev verify` prints its new skeleton_sha256.",
    ])
