"""Checking one kata, the whole use case: lock, fixtures, run, fresh judgement, blame, record.

`kata check`, `kata check --all`, `kata watch`, `kata dev verify` and the tests all come here, so
none of them skips a rule: a locked kata is not run, fixtures are verified before anyone reads
them, an earlier kata that broke since it passed is named, and the attempt is recorded. It
prints nothing: what happens along the way goes to `on_event(kind, text)` ("checking" once the
kata is really run, "prepare" for what the kata fetches first, then the watchdog's live line on
MAX's compiles, "compiling", "compiling again" and "idle", and its summary, "compiled"; and the
step a long check is on, "step" as it begins and "step again" as its seconds move on, "idle"
between steps), and the finished verdict comes back for the command layer to show.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from checker import learner_info
from checker.check.runner import run_kata
from checker.check.verdict import CheckResult, Status
from checker.curriculum import Curriculum, Kata
from checker.errors import KataError
from checker.fixture_files import file_sha256, verify_all
from checker.paths import fixtures_dir
from checker.progress import (ProgressStore, is_unlocked, passed_numbers, record_attempt,
                              unlocked_by)

OnEvent = Callable[[str, str], None]


def check_kata(curriculum: Curriculum, store: ProgressStore | None, kata: Kata, *,
               force: bool = False, learner_file: Path | None = None,
               deps_dir: Path | None = None, on_event: OnEvent | None = None) -> CheckResult:
    """The finished verdict on `kata`.

    With a progress `store` (the learner's own check): a locked kata is not run unless `force`,
    a failure names an earlier kata that broke since it passed, and the attempt is recorded.
    Without one (`kata dev verify`, which checks the reference solution or the skeleton given as
    `learner_file`, with `deps_dir` for the earlier katas): the same run, nothing recorded.
    Raises KataError when the kata's fixtures do not verify."""
    if store is not None and not force:
        locked = _lock(curriculum, store, kata)
        if locked:
            return locked
    problems = verify_all(fixtures_dir(curriculum.root), kata.fixtures)
    if problems:
        raise KataError("\n".join(problems))
    if on_event:
        on_event("checking", f"{kata.number}. {kata.title}")
    result = run_kata(curriculum, kata, learner_file=learner_file, deps_dir=deps_dir,
                      on_event=on_event)
    if store is None:
        return result
    if result.status in (Status.FAIL, Status.ERROR) and learner_file is None and deps_dir is None:
        blame = blame_prerequisites(curriculum, store, kata)
        if blame:
            result = dataclasses.replace(result, blame=blame)
    with store.update() as progress:
        first_pass = record_attempt(progress, kata.number, result.status, result.sha256)
        learner_info.remember_from_git(progress, curriculum.root)  # names the learner in reports
    return dataclasses.replace(result, first_pass=first_pass)


def _lock(curriculum: Curriculum, store: ProgressStore, kata: Kata) -> CheckResult | None:
    """A "locked" verdict when an earlier kata must pass first; None when `kata` may be checked."""
    released = [k.number for k in curriculum.available]
    if is_unlocked(kata.number, passed_numbers(store.load()), released):
        return None
    before = unlocked_by(kata.number, released)
    return CheckResult(kata.number, kata.slug, Status.LOCKED,
                       f"Kata {kata.number} is locked: pass kata {before} first "
                       f"(`kata check {before}`), or use --force to check it anyway.")


def blame_prerequisites(curriculum: Curriculum, store: ProgressStore, kata: Kata) -> str | None:
    """When kata N fails, re-check the earlier katas it runs whose files changed since they
    passed; if one of them fails now, say so, since that is the thing to fix first."""
    progress = store.load()
    for earlier in curriculum.prerequisites(kata):
        record = progress["katas"].get(str(earlier.number), {})
        if file_sha256(curriculum.root / earlier.file) == record.get("passed_sha256"):
            continue
        again = run_kata(curriculum, earlier)
        if not again.passed:
            first = next((t.get("message") for t in again.tests if t.get("message")), again.message)
            return (f"Kata {kata.number} runs your earlier work, and kata {earlier.number} "
                    f"({earlier.title}, {earlier.file}) does not pass any more: {first}\n"
                    f"Fix it first: `kata check {earlier.number}`.")
    return None
