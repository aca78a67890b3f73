"""Where things live: the repository root that holds curriculum.yaml, and the state folder."""

from __future__ import annotations

import os
from pathlib import Path

from checker.protocol import Env

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def repo_root() -> Path:
    """The course folder: $KATA_ROOT, else the nearest folder above the cwd with curriculum.yaml,
    else the folder this checker was installed from (editable install)."""
    env = os.environ.get(Env.ROOT)
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "curriculum.yaml").is_file():
            return folder
    return PACKAGE_ROOT


def user_cache_dir() -> Path:
    """~/.cache/kata: what a user's courses share (SmolLM2's file, kata chat's kept weights)."""
    return Path.home() / ".cache" / "kata"


def state_dir(root: Path) -> Path:
    return root / ".kata"


def fixtures_dir(root: Path) -> Path:
    """The golden fixtures in use: $KATA_FIXTURES (e.g. built from real GPT-2 with
    `kata dev fixtures --model gpt2 --out DIR`), else the course's own fixtures/."""
    env = os.environ.get(Env.FIXTURES)
    return Path(env).resolve() if env else root / "fixtures"
