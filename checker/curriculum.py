"""curriculum.yaml -> validated Kata records. Every problem is one message naming the entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from checker.errors import CurriculumError

REQUIRED = {
    "number": int,
    "slug": str,
    "title": str,
    "file": str,
    "lesson": str,
    "folder": str,
    "fixtures": list,
    "hints": list,
    "time_limit_s": (int, float),
}
# What every kata folder holds: its hidden tests, its reference solution, and its fresh-input
# spec (how to draw inputs, run the learner's code on them, and judge the outputs).
FOLDER_FILES = {"tests": "test_kata.py", "solution": "solution.py", "spec": "spec.py"}
OPTIONAL = {"available": bool, "uses_max": bool, "uses": list, "skeleton_sha256": str,
            "command": str, "part": str, "provides": str}


@dataclass(frozen=True)
class Kata:
    number: int
    slug: str
    title: str
    file: str
    lesson: str
    folder: str  # everything the checker knows about this kata (see checker/course/README.md)
    fixtures: tuple[str, ...]
    hints: tuple[str, ...]
    time_limit_s: float
    available: bool = True
    uses_max: bool = True
    uses: tuple[int, ...] = ()  # earlier katas whose learner code this one imports
    skeleton_sha256: str | None = None  # the untouched skeleton, for `kata reset`
    command: str | None = None  # a `kata` command that runs the learner's work once this passes
    part: str | None = None  # the part of the course it opens (e.g. "Part 2: ..."), for kata list
    provides: str | None = None  # what its code lends a command once it passes (e.g. "sampler")

    @property
    def tests(self) -> str:
        """The hidden tests, in the kata's folder."""
        return f"{self.folder}/{FOLDER_FILES['tests']}"

    @property
    def solution(self) -> str:
        """The reference solution, in the kata's folder."""
        return f"{self.folder}/{FOLDER_FILES['solution']}"

    @property
    def package(self) -> str:
        """The folder as an import name, e.g. checker.course.kata07_attention."""
        return ".".join(Path(self.folder).parts)

    @property
    def module(self) -> str:
        """The import name later katas use for the learner's file, e.g. katas.step_07."""
        return "katas." + Path(self.file).stem


@dataclass(frozen=True)
class Curriculum:
    root: Path
    course: str
    katas: tuple[Kata, ...]

    def get(self, number: int) -> Kata:
        for kata in self.katas:
            if kata.number == number:
                return kata
        raise CurriculumError(
            f"There is no kata {number}: this course has katas 1 to {len(self.katas)}. "
            "Run `kata list` to see them."
        )

    def for_command(self, command: str) -> Kata:
        """The kata whose passing makes `kata COMMAND` meaningful (e.g. run: the generation kata)."""
        for kata in self.katas:
            if kata.command == command:
                return kata
        raise CurriculumError(f"No kata in curriculum.yaml provides `kata {command}` "
                              f"(give one `command: {command}`).")

    def provider(self, role: str) -> Kata | None:
        """The kata whose code a command uses for `role` (curriculum.yaml's `provides:`), if any."""
        return next((kata for kata in self.katas if kata.provides == role), None)

    def prerequisites(self, kata: Kata) -> list[Kata]:
        """Every earlier kata whose code `kata` runs, directly or through another, in order."""
        seen: set[int] = set()
        todo = list(kata.uses)
        while todo:
            number = todo.pop()
            if number not in seen:
                seen.add(number)
                todo.extend(self.get(number).uses)
        return [self.get(n) for n in sorted(seen)]

    @property
    def available(self) -> tuple[Kata, ...]:
        return tuple(k for k in self.katas if k.available)


def _entry_lines(text: str) -> list[int]:
    """1-based line of each entry under `katas:`, so messages can point at the file."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "katas" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_curriculum(root: Path) -> Curriculum:
    path = root / "curriculum.yaml"
    where = "curriculum.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CurriculumError(
            f"No curriculum.yaml in {root}. Run kata from the course folder (the one with "
            "curriculum.yaml), or set KATA_ROOT to it."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CurriculumError(f"Cannot read {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CurriculumError(f"{where} is not valid YAML{line}: {problem}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("katas"), list) or not data["katas"]:
        raise CurriculumError(
            f"{where} must be a mapping with a non-empty list under `katas:` "
            "(see the comment at the top of the file in the course repository)."
        )
    lines = _entry_lines(text)
    katas = []
    for index, entry in enumerate(data["katas"]):
        line = lines[index] if index < len(lines) else None
        label = f"{where} entry {index + 1}" + (f" (line {line})" if line else "")
        katas.append(_parse_entry(entry, label, root))
    _check_order(katas, where)
    course = data.get("course", "GPT-2 from scratch with MAX")
    return Curriculum(root=root, course=str(course), katas=tuple(katas))


def _parse_entry(entry: object, label: str, root: Path) -> Kata:
    if not isinstance(entry, dict):
        raise CurriculumError(f"{label} must be a mapping of fields, not {type(entry).__name__}.")
    if isinstance(entry.get("number"), int):
        label += f", kata {entry['number']}"
    unknown = set(entry) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise CurriculumError(f"{label} has unknown field(s): {', '.join(sorted(unknown))}.")
    for field, kind in {**REQUIRED, **OPTIONAL}.items():
        if field not in entry:
            if field in REQUIRED:
                raise CurriculumError(f"{label} is missing the field `{field}`.")
            continue
        value = entry[field]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            raise CurriculumError(
                f"{label}: `{field}` must be {_kind_name(kind)}, not {value!r}."
            )
    if not 0 < entry["time_limit_s"] < float("inf"):  # also refuses NaN, which compares False
        raise CurriculumError(f"{label}: `time_limit_s` must be positive (a number of seconds).")
    for field in ("hints", "fixtures"):
        if not all(isinstance(item, str) and item.strip() for item in entry[field]):
            raise CurriculumError(f"{label}: every item of `{field}` must be a non-empty string.")
    if not entry["hints"]:
        raise CurriculumError(f"{label}: give at least one hint.")
    digest = entry.get("skeleton_sha256")
    if digest is not None and not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise CurriculumError(f"{label}: `skeleton_sha256` must be 64 lowercase hex digits.")
    uses = entry.get("uses", [])
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 < n < entry["number"]
               for n in uses):
        raise CurriculumError(f"{label}: `uses` must list earlier kata numbers only.")
    kata = Kata(
        number=entry["number"],
        slug=entry["slug"],
        title=entry["title"],
        file=entry["file"],
        lesson=entry["lesson"],
        folder=entry["folder"].rstrip("/"),
        fixtures=tuple(entry["fixtures"]),
        hints=tuple(entry["hints"]),
        time_limit_s=float(entry["time_limit_s"]),
        available=entry.get("available", True),
        uses_max=entry.get("uses_max", True),
        uses=tuple(uses),
        skeleton_sha256=entry.get("skeleton_sha256"),
        command=entry.get("command"),
        part=entry.get("part"),
        provides=entry.get("provides"),
    )
    if kata.available:
        for field in ("file", "lesson"):
            if not (root / getattr(kata, field)).is_file():
                raise CurriculumError(
                    f"{label}: `{field}` names {getattr(kata, field)}, which does not exist."
                )
        if not (root / kata.folder).is_dir():
            raise CurriculumError(f"{label}: `folder` names {kata.folder}, which does not exist.")
        for name in FOLDER_FILES.values():
            if not (root / kata.folder / name).is_file():
                raise CurriculumError(
                    f"{label}: `folder` names {kata.folder}, which has no {name} (every kata "
                    f"folder holds {', '.join(FOLDER_FILES.values())}); it does not exist."
                )
    return kata


def _kind_name(kind: object) -> str:
    names = {int: "a whole number", str: "text", list: "a list", bool: "true or false"}
    if isinstance(kind, tuple):
        return "a number"
    return names.get(kind, str(kind))


def _check_order(katas: list[Kata], where: str) -> None:
    seen: dict[int, int] = {}
    slugs: set[str] = set()
    for position, kata in enumerate(katas, start=1):
        if kata.number in seen:
            raise CurriculumError(
                f"{where}: kata number {kata.number} appears twice "
                f"(entries {seen[kata.number]} and {position})."
            )
        seen[kata.number] = position
        if kata.slug in slugs:
            raise CurriculumError(f"{where}: the slug `{kata.slug}` appears twice.")
        slugs.add(kata.slug)
        if kata.number != position:
            raise CurriculumError(
                f"{where}: entry {position} is kata {kata.number}; katas must be numbered "
                "1, 2, 3, ... in order."
            )
