"""Who the learner is, for class reports: a name and email kept in .kata/progress.json.

Taken from an explicit `kata progress --name/--email` (kept, and never overwritten by git),
else from git's user.name/user.email. Git is optional: missing, slow or unconfigured just means
no name, and the report falls back to the course folder's name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 2


def git_identity(folder: Path) -> dict:
    """{"name": ..., "email": ...} from git config (either may be missing); {} without git."""
    try:
        done = subprocess.run(["git", "config", "--get-regexp", r"^user\.(name|email)$"],
                              cwd=folder, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return {}
    found = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key in ("user.name", "user.email") and value.strip():
            found[key.split(".")[1]] = value.strip()
    return found


def remember_from_git(progress: dict, folder: Path) -> None:
    """Records git's identity in progress once; a name given with --name always wins."""
    if (progress.get("learner") or {}).get("name"):
        return
    found = git_identity(folder)
    if found.get("name"):
        progress["learner"] = {**found, "source": "git"}


def set_identity(progress: dict, name: str | None, email: str | None) -> None:
    learner = dict(progress.get("learner") or {})
    if name is not None:
        learner["name"] = name
    if email is not None:
        learner["email"] = email
    learner["source"] = "option"
    progress["learner"] = learner


def identity(progress: dict, folder: Path) -> dict:
    """The learner's name and email: what progress recorded, else git's (not recorded)."""
    learner = progress.get("learner")
    if isinstance(learner, dict) and learner.get("name"):
        return {"name": learner.get("name"), "email": learner.get("email")}
    found = git_identity(folder)
    return {"name": found.get("name"), "email": found.get("email")}
