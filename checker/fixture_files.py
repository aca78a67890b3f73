"""Reads fixtures/: verifies each file against manifest.json's sha256 before anyone uses it."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from checker.errors import FixtureError

RESTORE = (
    "Restore the course's fixtures with `git checkout -- fixtures/` "
    "(maintainers rebuild them with `kata dev fixtures`)."
)


def file_sha256(path: Path) -> str | None:
    """A file's sha256, or None when it cannot be read (a learner's file that is gone)."""
    try:
        return sha256_of(path)
    except OSError:
        return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def manifest(fixtures_dir: Path) -> dict:
    path = fixtures_dir / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError(f"The fixtures manifest {path} is missing. {RESTORE}") from None
    except (OSError, ValueError) as exc:
        raise FixtureError(f"The fixtures manifest {path} cannot be read ({exc}). {RESTORE}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise FixtureError(f"The fixtures manifest {path} is not a manifest. {RESTORE}")
    return data


def random_weights(fixtures_dir: Path) -> bool:
    """Whether these fixtures come from the course's seeded random model (not a real checkpoint):
    whatever text it generates is random words, however right the learner's code is."""
    try:
        return bool((manifest(fixtures_dir).get("model") or {}).get("init"))
    except FixtureError:
        return False


def verify(fixtures_dir: Path, name: str) -> Path:
    """The path of fixture `name`, after checking that it is exactly the file the manifest names."""
    entry = manifest(fixtures_dir)["files"].get(name)
    path = fixtures_dir / name
    if entry is None:
        raise FixtureError(f"fixtures/{name} is not listed in fixtures/manifest.json. {RESTORE}")
    if not path.is_file():
        raise FixtureError(f"The golden file fixtures/{name} is missing. {RESTORE}")
    if sha256_of(path) != entry.get("sha256"):
        raise FixtureError(
            f"The golden file fixtures/{name} has been altered or is damaged "
            f"(its sha256 does not match fixtures/manifest.json). {RESTORE}"
        )
    return path


def verify_all(fixtures_dir: Path, names) -> list[str]:
    """Problems with the given fixtures, one message each (empty when all verify)."""
    problems = []
    for name in names:
        try:
            verify(fixtures_dir, name)
        except FixtureError as exc:
            problems.append(str(exc))
    return problems


@functools.lru_cache(maxsize=None)
def load(fixtures_dir: Path, name: str):
    """A verified fixture: a dict of numpy arrays (.npz) or the decoded JSON (.json)."""
    path = verify(fixtures_dir, name)
    if name.endswith(".json"):
        return json.loads(path.read_text(encoding="utf-8"))
    import numpy as np  # only here: `kata list`, `kata hint` and the parent of a check never need it

    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
