"""What every `kata` command shares: the two consoles, the course and its progress, a kata by number."""

from __future__ import annotations

import json

from rich.console import Console

from checker.curriculum import Curriculum, Kata, load_curriculum
from checker.errors import KataError
from checker.paths import repo_root, state_dir
from checker.progress import ProgressStore

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def course() -> tuple[Curriculum, ProgressStore]:
    curriculum = load_curriculum(repo_root())
    return curriculum, ProgressStore(state_dir(curriculum.root))


def load_progress(store: ProgressStore) -> dict:
    """The learner's progress; what the store had to repair is said on stderr, once."""
    progress = store.load()
    for notice in store.notices:
        errors.print(notice, style="yellow", markup=False)
    store.notices.clear()
    return progress


def available(curriculum: Curriculum, number: int) -> Kata:
    kata = curriculum.get(number)
    if not kata.available:
        raise KataError(f"Kata {number} ({kata.title}) is not available yet in this version of the "
                        "course. Run `kata list` to see which katas are ready.")
    return kata


def warm_ahead(curriculum: Curriculum, progress: dict, show: bool = False) -> None:
    """Starts the background warm-up when it has work (checker/play/warmer.py); with `show`, says
    on stderr what a running one is doing."""
    from checker.play import warmer
    from checker.progress import passed_numbers

    warmer.start_if_useful(curriculum.root, [k.number for k in curriculum.available],
                           passed_numbers(progress))
    line = warmer.status_line({k.number: k.title for k in curriculum.katas}) if show else None
    if line:
        errors.print(line, style="dim", markup=False, soft_wrap=True)


def print_json(data) -> None:
    print(json.dumps(data, indent=2))
