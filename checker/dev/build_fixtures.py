"""Maintainers only: `kata dev fixtures` builds fixtures/ from Hugging Face's own modules.

The driver knows no kata: each kata folder's golden.py names its FAMILY (a module of
checker/models/, e.g. gpt2 -> checker.models.gpt2_golden) and its FIXTURES (fixture file ->
builder(model, tokenizer)). The family module loads the model and tokenizer once, builds its own
files (FAMILY_FILES, e.g. the weights) and describes the model for the manifest. With
`--model PATH` the fixtures come from a real checkpoint of that family.
"""

from __future__ import annotations

import importlib
import json
import platform
from pathlib import Path
from typing import Callable

import numpy as np

from checker import fixture_files
from checker.curriculum import Curriculum, load_curriculum
from checker.paths import PACKAGE_ROOT


def builders(curriculum: Curriculum) -> dict[str, dict[str, Callable]]:
    """family -> {fixture file: builder}, over every kata folder with a golden.py, in order."""
    by_family: dict[str, dict[str, Callable]] = {}
    for kata in curriculum.available:
        if not (curriculum.root / kata.folder / "golden.py").is_file():
            continue
        module = importlib.import_module(kata.package + ".golden")
        by_family.setdefault(module.FAMILY, {}).update(module.FIXTURES)
    return by_family


def family(name: str):
    return importlib.import_module(f"checker.models.{name}_golden")


def _write(path: Path, content: dict) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    if "json" in content:
        path.write_text(json.dumps(content["json"], indent=2, sort_keys=True) + "\n")
        return {}
    arrays = content["npz"]
    # a builder may ask for compression (filtered logits are mostly -inf: 15 MB -> 3.5 MB); the
    # bytes are stable either way (numpy dates every zip entry 1980)
    save = np.savez_compressed if content.get("compressed") else np.savez
    with open(path, "wb") as handle:  # savez on a handle: no ".npz" appended
        save(handle, **arrays)
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}


def build(out_dir: Path, model_path: str | None = None, echo: Callable[[str], None] = print,
          command: str = "kata dev fixtures", root: Path = PACKAGE_ROOT,
          families: set[str] | None = None) -> dict:
    """Writes the fixtures and manifest.json into out_dir; returns the manifest. With `families`,
    only theirs are rebuilt and the manifest already there keeps every other file's entry."""
    import torch
    import transformers

    torch.use_deterministic_algorithms(True)
    every = builders(load_curriculum(root))
    unknown = set(families or ()) - set(every)
    if unknown:
        raise KeyError(f"no kata uses the model family {', '.join(sorted(unknown))} "
                       f"(the families: {', '.join(every)})")
    old = _existing(out_dir) if families else {}
    files, models = dict(old.get("files", {})), dict(old.get("models", {}))
    versions = {"transformers": transformers.__version__, "torch": torch.__version__,
                "numpy": np.__version__, "python": platform.python_version()}
    for name, kata_builders in every.items():
        if families and name not in families:
            continue
        maker = family(name)
        model, tok = maker.load(model_path)
        for file, make in {**kata_builders, **maker.FAMILY_FILES}.items():
            echo(f"  {file}")
            summary = _write(out_dir / file, make(model, tok))
            files[file] = {"sha256": fixture_files.sha256_of(out_dir / file), "arrays": summary}
        models[name] = {**maker.describe(model, tok, model_path), "versions": versions}
    first = next(iter(every), None)
    if old.get("model") and first not in models:  # a manifest from before families were listed
        models[first] = {**old["model"], "versions": old.get("versions")}
    models = {name: models[name] for name in every if name in models}  # course order
    manifest = {
        "format": 1,
        "command": command,
        # the first family under "model", as the manifest always had it; every family under "models"
        "model": next(iter(models.values()), None),
        "models": models,
        "versions": versions,
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _existing(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
