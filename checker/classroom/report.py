"""`kata report`: many learners' progress read into one class report (and its CSV).

A source is a progress file (.kata/progress.json or a `kata progress --json` export), a learner's
course folder, or a folder holding many of those (a bootcamp's clones). Anything unreadable or
foreign is skipped with its reason; the report is made from the rest. Where the learner's files
are at hand, each claimed pass is matched against the sha256 of the file that passed.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from checker.output import progress_json
from checker.curriculum import Curriculum
from checker.errors import KataError
from checker.progress import newer_format
from checker.progress import validate as validate_progress
from checker.fixture_files import file_sha256

MAX_FILE_BYTES = 5 << 20  # a real progress file is a few kB; anything huge is not one
MAX_DEPTH = 3  # class folder / group / learner: enough for a bootcamp, no endless walks
IGNORED_FOLDERS = {".git", "node_modules", "__pycache__", ".venv", "venv", "fixtures", "checker"}

# A learner's kata, as the class table shows it.
PASSED, MISMATCH, ATTEMPTED, NOT_STARTED = "passed", "mismatch", "attempted", "not started"


@dataclass
class Learner:
    name: str
    email: str | None
    source: str
    katas: dict[int, dict]  # number -> the export's kata entry
    files_checked: bool = False  # the learner's kata files were there to match sha256 against
    mismatches: dict[int, str] = field(default_factory=dict)  # kata -> why the claim fails

    def state(self, number: int) -> str:
        entry = self.katas.get(number) or {}
        if number in self.mismatches:
            return MISMATCH
        if entry.get("status") == "passed":
            return PASSED
        return ATTEMPTED if entry.get("attempts") else NOT_STARTED

    def total(self, key: str) -> int:
        return sum(entry.get(key) or 0 for entry in self.katas.values())

    @property
    def passed(self) -> int:
        return sum(1 for n in self.katas if self.state(n) == PASSED)

    @property
    def revealed(self) -> int:
        return sum(1 for e in self.katas.values() if e.get("solution_revealed"))

    @property
    def files(self) -> str:
        if self.mismatches:
            return "mismatch"
        return "verified" if self.files_checked else "unverified"


@dataclass
class Skipped:
    source: str
    reason: str


@dataclass
class ClassReport:
    course: str
    katas: list[tuple[int, str]]  # (number, title) in course order
    learners: list[Learner]
    skipped: list[Skipped]

    @cached_property
    def _counts(self) -> dict[int, tuple[int, int]]:
        """(passes, attempts) per kata, counted once: the page asks for them many times."""
        return {number: (sum(1 for l in self.learners if l.state(number) == PASSED),
                         sum((l.katas.get(number) or {}).get("attempts") or 0 for l in self.learners))
                for number, _ in self.katas}

    def passes(self, number: int) -> int:
        return self._counts[number][0]

    def attempts(self, number: int) -> int:
        return self._counts[number][1]

    @cached_property
    def stuck(self) -> dict | None:
        """Where the class is stuck: the kata on which learners who have not passed it spent the
        most attempts (ties: fewer passes, then the earlier kata). None before any attempt.
        Counting only those still failing keeps early katas, which everyone attempted on the
        way through, from always coming first."""
        best, best_key = None, None
        for number, title in self.katas:
            trying = [l for l in self.learners if l.state(number) == ATTEMPTED]
            failing = sum(l.katas[number].get("attempts") or 0 for l in trying)
            key = (failing, -self.passes(number))
            if failing and (best_key is None or key > best_key):
                best_key = key
                best = {"kata": number, "title": title, "attempts": self.attempts(number),
                        "passes": self.passes(number), "trying": len(trying), "failing": failing}
        return best


class Unreadable(Exception):
    """A source that is not a learner's progress; the message is the reason shown."""


def shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_json(path: Path) -> object:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise Unreadable(f"too large for a progress file ({path.stat().st_size} bytes)")
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise Unreadable("not a text file") from None
    except ValueError as exc:
        raise Unreadable(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise Unreadable("not valid JSON (nested too deeply)") from None
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror})") from None


def _as_export(data: object, curriculum: Curriculum) -> dict:
    """A raw progress file or an export, as an export; Unreadable when it is neither."""
    if isinstance(data, dict) and data.get("kind") == progress_json.KIND:
        why = progress_json.problem(data)
        if why:
            raise Unreadable(why)
        return data
    version = newer_format(data)
    if version is not None:
        raise Unreadable(f"written by a newer checker (progress format {version})")
    try:
        validate_progress(data)
    except ValueError as exc:
        detail = "" if str(exc) == "not a progress file" else f" ({exc})"
        raise Unreadable(f"not a kata progress file{detail}") from None
    known = {str(k.number) for k in curriculum.katas}
    foreign = sorted(set(data["katas"]) - known, key=lambda n: int(n))
    if foreign:
        raise Unreadable(f"kata {foreign[0]} is not in this course ({curriculum.course})")
    learner = data.get("learner") if isinstance(data.get("learner"), dict) else {}
    return progress_json.export(curriculum, data, learner)


def _default_name(path: Path, folder: Path | None) -> str:
    if folder is not None:
        return folder.resolve().name
    if path.name == "progress.json":
        parent = path.resolve().parent
        return parent.parent.name if parent.name == ".kata" else parent.name
    return path.stem


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def load_learner(path: Path, folder: Path | None, curriculum: Curriculum) -> Learner:
    """One learner from a progress file; `folder` is their course folder when it is at hand."""
    export = _as_export(_read_json(path), curriculum)
    info = export.get("learner") or {}
    known = {k.number for k in curriculum.katas}
    katas = {e["kata"]: e for e in export["katas"] if e["kata"] in known}
    learner = Learner(_text(info.get("name")) or _default_name(path, folder), _text(info.get("email")),
                      shown(folder if folder is not None else path), katas)
    if folder is not None:
        learner.files_checked = True
        learner.mismatches = _mismatches(folder, katas, curriculum)
    return learner


def _mismatches(folder: Path, katas: dict[int, dict], curriculum: Curriculum) -> dict[int, str]:
    """Claimed passes that the learner's own file does not back: tamper evidence."""
    found = {}
    for kata in curriculum.katas:
        entry = katas.get(kata.number) or {}
        if entry.get("status") != "passed":
            continue
        claimed = entry.get("passed_sha256")
        actual = file_sha256(folder / kata.file)
        if not claimed:
            found[kata.number] = "the pass records no sha256"
        elif actual is None:
            found[kata.number] = f"{kata.file} is missing"
        elif actual != claimed:
            found[kata.number] = f"{kata.file} is not the file that passed (sha256 differs)"
    return found


def _course_folder(folder: Path) -> bool:
    return (folder / "curriculum.yaml").is_file() or (folder / "katas").is_dir()


def find_sources(paths: list[Path]) -> tuple[list[tuple[Path, Path | None]], list[Skipped]]:
    """(progress file, learner's course folder or None) for each learner found."""
    sources: list[tuple[Path, Path | None]] = []
    skipped: list[Skipped] = []

    def visit(path: Path, depth: int, explicit: bool) -> int:
        if path.is_file():
            if path.name == "progress.json" and path.parent.name == ".kata":
                folder = path.parent.parent
                sources.append((path, folder if _course_folder(folder) else None))
            else:
                sources.append((path, None))
            return 1
        if (path / ".kata" / "progress.json").is_file():
            sources.append((path / ".kata" / "progress.json", path))
            return 1
        if path.name == ".kata" and (path / "progress.json").is_file():
            return visit(path / "progress.json", depth, explicit)
        if _course_folder(path):
            skipped.append(Skipped(shown(path), "a course folder with no .kata/progress.json: "
                                                "no check has been run there, or it was not committed"))
            return 0
        if depth >= MAX_DEPTH:
            return 0
        found, skipped_before = 0, len(skipped)
        try:
            children = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(shown(path), f"cannot be read ({exc.strerror})"))
            return 0
        for child in children:
            if child.name.startswith(".") or child.name in IGNORED_FOLDERS:
                continue
            if child.is_dir() or child.name.endswith(".json"):  # other files: not ours to judge
                found += visit(Path(child.path), depth + 1, False)
        if explicit and not found and len(skipped) == skipped_before:
            skipped.append(Skipped(shown(path), "no progress files or course folders in it"))
        return found

    for path in paths:
        visit(path, 0, True)
    return sources, skipped


def build(paths: list[Path], curriculum: Curriculum) -> ClassReport:
    sources, skipped = find_sources(paths)
    learners = []
    seen: set[Path] = set()
    for path, folder in sources:
        if path.resolve() in seen:  # the same file named twice (a folder and a file in it)
            continue
        seen.add(path.resolve())
        try:
            learners.append(load_learner(path, folder, curriculum))
        except Unreadable as exc:
            skipped.append(Skipped(shown(path), str(exc)))
    learners.sort(key=lambda l: (l.name.casefold(), l.source))
    return ClassReport(curriculum.course, [(k.number, k.title) for k in curriculum.katas],
                       learners, skipped)


def _cell(value: object) -> object:
    """Spreadsheets run cells that start with = + - @ as formulas: names come from learners."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(report: ClassReport) -> list[list[object]]:
    header = ["learner", "email", "source", "passed", "attempts", "hints_used", "solutions_revealed",
              "files", "mismatched_katas"] + [f"kata_{n:02d}" for n, _ in report.katas]
    rows = [header]
    for learner in report.learners:
        rows.append([_cell(v) for v in [
            learner.name, learner.email or "", learner.source, learner.passed,
            learner.total("attempts"), learner.total("hints_used"), learner.revealed, learner.files,
            " ".join(str(n) for n in sorted(learner.mismatches)),
        ] + [learner.state(n) for n, _ in report.katas]])
    return rows


def write_csv(report: ClassReport, path: Path) -> None:
    try:
        with open(path, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(csv_rows(report))
    except OSError as exc:
        raise KataError(f"Cannot write {path} ({exc.strerror}).") from None
