"""A generated class for report tests and bench/report_200.py: learners' course folders, each
with its kata files and a .kata/progress.json written by the checker's own progress functions."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from checker.progress import empty_progress, kata_record, record_attempt

FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Katherine",
         "Linus", "Margaret", "Niklaus", "Radia", "Tim", "Yukihiro", "Guido"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus",
        "Johnson", "Torvalds", "Hamilton", "Wirth", "Perlman", "Berners-Lee", "Matsumoto", "Rossum"]
KATAS = 12  # Part 1: enough for a class whose learners stall at attention
STUCK_AT = 7  # most of the class stalls at multi-head attention, as classes do


def make_learner(folder: Path, name: str | None, reached: int, rng: random.Random,
                 tamper: bool = False) -> dict:
    """One learner who passed katas 1..reached-1 and is working on `reached` (13: finished)."""
    katas = folder / "katas"
    katas.mkdir(parents=True, exist_ok=True)
    progress = empty_progress()
    for number in range(1, min(reached, KATAS) + 1):
        path = katas / f"step_{number:02d}.py"
        path.write_text(f"# {name or folder.name}'s kata {number}\nANSWER = {rng.random()!r}\n")
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        passes = number < reached
        for _ in range(rng.randint(0, 4 if passes else 8)):
            record_attempt(progress, number, rng.choice(["fail", "fail", "error"]), sha)
        if passes:
            record_attempt(progress, number, "pass", sha)
        record = kata_record(progress, number)
        record["hints_shown"] = rng.choice([0, 0, 0, 1, 2, 3])
        if rng.random() < 0.05:
            record["solution_revealed"] = "2026-11-20T10:00:00+00:00"
    if name:
        progress["learner"] = {"name": name, "email": name.lower().replace(" ", ".") + "@example.org",
                               "source": "git"}
    mismatched = None
    if tamper and reached > 1:
        mismatched = rng.randint(1, reached - 1)
        path = katas / f"step_{mismatched:02d}.py"
        path.write_text(path.read_text() + "# changed after it passed\n")
    state = folder / ".kata"
    state.mkdir(exist_ok=True)
    (state / "progress.json").write_text(json.dumps(progress, indent=2, sort_keys=True) + "\n")
    return {"folder": folder, "name": name or folder.name, "passed": reached - 1,
            "mismatch": mismatched}


def make_class(dest: Path, count: int, seed: int = 0, tampered: int = 0) -> list[dict]:
    """`count` learners in dest/learner-NNN; the first `tampered` ones edit a passed file."""
    rng = random.Random(seed)
    learners = []
    for i in range(count):
        name = None if i % 10 == 9 else f"{rng.choice(FIRST)} {rng.choice(LAST)} {i:03d}"
        reached = min(KATAS + 1, max(1, round(rng.gauss(STUCK_AT, 3))))
        learners.append(make_learner(dest / f"learner-{i:03d}", name, reached, rng, i < tampered))
    return learners
