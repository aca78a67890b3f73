"""The learner's progress in .kata/progress.json: atomic writes under a lock, and the unlock rule.

A pass is never lost: every write goes to a temporary file that replaces the old one in one
rename, progress.json.bak is written the same way with the same text, and a file that cannot be
read is moved aside (never overwritten) before starting again from the backup or from scratch.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from checker import __version__
from checker.curriculum import Kata
from checker.errors import ProgressError

try:  # POSIX; MAX itself runs on Linux and macOS only.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

SCHEMA_VERSION = 1
FILE_NAME = "progress.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def empty_progress() -> dict:
    return {"version": SCHEMA_VERSION, "checker_version": __version__, "katas": {}}


def kata_record(progress: dict, number: int) -> dict:
    record = progress["katas"].setdefault(str(number), {})
    record.setdefault("status", "not started")
    record.setdefault("attempts", 0)
    record.setdefault("first_pass", None)
    record.setdefault("last_pass", None)
    record.setdefault("passed_sha256", None)
    record.setdefault("hints_shown", 0)
    return record


def passed_numbers(progress: dict) -> set[int]:
    """Katas that have passed at least once: a later failure does not re-lock what follows."""
    return {
        int(number)
        for number, record in progress["katas"].items()
        if isinstance(record, dict) and record.get("first_pass")
    }


def unlocked_by(number: int, released: Iterable[int] | None = None) -> int | None:
    """The kata whose pass opens kata NUMBER: the one before it (None for the first). Given the
    released katas, one not released yet is skipped: nobody can pass it, so nothing waits on it."""
    earlier = [n for n in (range(1, number) if released is None else released) if n < number]
    return max(earlier, default=None)


def is_unlocked(number: int, passed: set[int], released: Iterable[int] | None = None) -> bool:
    """Kata 1 is always open; kata N opens once kata N-1 (the released kata before it) has passed."""
    before = unlocked_by(number, released)
    return before is None or before in passed


def current_kata(numbers: list[int], passed: set[int]) -> int | None:
    """The first kata, in course order, that has not passed yet (None when all have)."""
    for number in sorted(numbers):
        if number not in passed:
            return number
    return None


def record_attempt(progress: dict, number: int, status: str, sha256: str | None) -> bool:
    """Updates the record after a check; returns True when this is the kata's first pass."""
    record = kata_record(progress, number)
    record["attempts"] += 1
    record["last_attempt"] = now_iso()
    record["status"] = status
    first = False
    if status == "pass":
        stamp = now_iso()
        first = record["first_pass"] is None
        if first:
            record["first_pass"] = stamp
        record["last_pass"] = stamp
        record["passed_sha256"] = sha256
    return first


def newer_format(data: object) -> int | None:
    """The format version of a progress file written by a newer checker, else None."""
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return version
    return None


def validate(data: object) -> dict:
    """Raises ValueError for anything that is not a progress file we can use."""
    if not isinstance(data, dict) or not isinstance(data.get("katas"), dict):
        raise ValueError("not a progress file")
    version = data.get("version")
    if not isinstance(version, int):
        raise ValueError("no schema version")
    for number, record in data["katas"].items():
        if not str(number).isdigit() or not isinstance(record, dict):
            raise ValueError(f"bad entry for kata {number!r}")
        for key in ("attempts", "hints_shown"):
            if key in record and (not isinstance(record[key], int) or isinstance(record[key], bool)):
                raise ValueError(f"kata {number}: {key} is not a number")
    return data


class ProgressStore:
    """Reads and writes one progress file. Use `with store.update() as progress:` to change it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / FILE_NAME
        self.backup = folder / (FILE_NAME + ".bak")
        self.notices: list[str] = []  # things the CLI should tell the learner (recoveries)

    def load(self) -> dict:
        """The current progress; never raises for a damaged file (it is moved aside instead)."""
        if not self.path.exists():
            return self._from_backup_or_empty()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return self._recover(exc)
        self._refuse_newer(raw)
        try:
            return validate(raw)
        except ValueError as exc:
            return self._recover(exc)

    def _refuse_newer(self, data: object) -> None:
        version = newer_format(data)
        if version is not None:
            raise ProgressError(
                f"{self.path} was written by a newer checker (progress format "
                f"{version}, this checker knows {SCHEMA_VERSION}). Update the checker "
                "(git pull, then pip install -e .) — your progress file was left untouched."
            )

    def _recover(self, exc: Exception) -> dict:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.folder / f"{FILE_NAME}.corrupt-{stamp}"
        with contextlib.suppress(OSError):
            os.replace(self.path, aside)
        data = self._from_backup_or_empty()
        source = "the last good backup" if data["katas"] else "an empty record"
        self.notices.append(
            f"Your progress file could not be read ({exc}). It was saved as {aside.name} and "
            f"progress continues from {source}."
        )
        return data

    def _from_backup_or_empty(self) -> dict:
        try:
            data = validate(json.loads(self.backup.read_text(encoding="utf-8")))
        except (OSError, ValueError, UnicodeDecodeError):
            return empty_progress()
        self._refuse_newer(data)
        return data

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / "progress.lock", "a+")
        except OSError as exc:
            raise ProgressError(
                f"Cannot write to {self.folder} ({exc.strerror}). Check that the course folder "
                "is writable; your progress was not changed."
            ) from None
        with handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def update(self) -> Iterator[dict]:
        """Lock, load, let the caller change the dict, then write it atomically."""
        with self._locked():
            data = self.load()
            yield data
            self._write(data)

    def _write(self, data: dict) -> None:
        data["version"] = SCHEMA_VERSION
        data["checker_version"] = __version__
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        try:
            # The backup holds the same text, so damage to either file alone loses nothing.
            for path in (self.path, self.backup):
                self._replace(path, text)
        except OSError as exc:
            raise ProgressError(
                f"Cannot save progress to {self.path} ({exc.strerror}). Your earlier progress "
                "is unchanged; check the folder's permissions and disk space."
            ) from None

    def _replace(self, path: Path, text: str) -> None:
        """Writes `text` to `path` in one rename: a crash leaves the old file or the new one."""
        fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # only left when the write failed part-way


def kata_state(kata: Kata, progress: dict, passed: set[int],
               released: list[int] | None = None) -> str:
    """passed, ready, in progress, locked or coming soon: what `kata list` shows for a kata."""
    if not kata.available:
        return "coming soon"
    if kata.number in passed:
        return "passed"
    if not is_unlocked(kata.number, passed, released):
        return "locked"
    record = progress["katas"].get(str(kata.number))
    return "in progress" if record and record.get("attempts") else "ready"
