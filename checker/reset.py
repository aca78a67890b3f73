"""`kata reset N`: puts the untouched skeleton back, keeping a backup of the learner's file.

The untouched skeleton is recognised by the sha256 that curriculum.yaml records for it, and is
looked up in the course's git history (so it is found even after the learner committed work).
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import datetime
from pathlib import Path

from checker.curriculum import Kata
from checker.errors import KataError


def _git(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def pristine_skeleton(root: Path, kata: Kata) -> bytes:
    expected = kata.skeleton_sha256
    if expected is None:
        raise KataError(f"curriculum.yaml records no skeleton_sha256 for kata {kata.number}, so "
                        "its original skeleton cannot be recognised.")
    current = root / kata.file
    if current.is_file() and hashlib.sha256(current.read_bytes()).hexdigest() == expected:
        return current.read_bytes()
    revisions = _git(root, "rev-list", "--all", "--", kata.file)
    for revision in (revisions or b"").decode().split():
        content = _git(root, "show", f"{revision}:{kata.file}")
        if content is not None and hashlib.sha256(content).hexdigest() == expected:
            return content
    raise KataError(f"The original skeleton of {kata.file} is not in this folder's git history. "
                    "Copy it from the course repository, or clone the course again.")


def reset(root: Path, kata: Kata, backups: Path) -> Path | None:
    """Restores the skeleton; returns where the learner's file was backed up (None if absent)."""
    content = pristine_skeleton(root, kata)
    target = root / kata.file
    backup = None
    if target.exists():
        backups.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = backups / f"{target.stem}-{stamp}{target.suffix}"
        backup.write_bytes(target.read_bytes())
    target.write_bytes(content)
    return backup
