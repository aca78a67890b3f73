"""`kata progress --json`: a learner's progress as one self-describing object.

The same object is what `kata report` builds from every learner's .kata/progress.json, so an
exported file and a raw progress file read the same way. The schema is
schemas/progress.schema.json.
"""

from __future__ import annotations

from checker import __version__
from checker.curriculum import Curriculum
from checker.progress import kata_state, now_iso, passed_numbers

KIND = "kata-progress"
VERSION = 1


def export(curriculum: Curriculum, progress: dict, learner: dict) -> dict:
    passed = passed_numbers(progress)
    released = [k.number for k in curriculum.available]
    katas = []
    for kata in curriculum.katas:
        record = progress["katas"].get(str(kata.number)) or {}
        revealed = record.get("solution_revealed")
        katas.append({
            "kata": kata.number,
            "slug": kata.slug,
            "title": kata.title,
            "status": kata_state(kata, progress, passed, released),
            "last_result": record.get("status") if record.get("attempts") else None,
            "attempts": record.get("attempts", 0),
            "first_pass": record.get("first_pass"),
            "last_pass": record.get("last_pass"),
            "last_attempt": record.get("last_attempt"),
            "hints_used": record.get("hints_shown", 0),
            "solution_revealed": bool(revealed),
            "solution_revealed_at": revealed if isinstance(revealed, str) else None,
            "passed_sha256": record.get("passed_sha256"),
        })
    return {
        "kind": KIND,
        "version": VERSION,
        "course": curriculum.course,
        "learner": {"name": learner.get("name"), "email": learner.get("email")},
        "checker_version": __version__,
        "progress_checker_version": progress.get("checker_version"),
        "exported_at": now_iso(),
        "passed": len(passed & {k.number for k in curriculum.katas}),
        "total": len(curriculum.katas),
        "katas": katas,
    }


def problem(data: object) -> str | None:
    """Why `data` is not an export this checker can read (None when it is)."""
    if not isinstance(data, dict) or data.get("kind") != KIND:
        return "not a kata progress export"
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        return f"written by a newer checker (export format {data.get('version')!r})"
    if not isinstance(data.get("learner"), dict) or not isinstance(data.get("katas"), list):
        return "its learner or katas are missing"
    for entry in data["katas"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kata"), int):
            return "a kata entry has no number"
        for key in ("attempts", "hints_used"):
            value = entry.get(key, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return f"kata {entry['kata']}: {key} is not a count"
    return None
