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

from checker import golden
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
    with open(path, "wb") as handle:  # savez on a handle: no ".npz" appended, stable bytes
        np.savez(handle, **arrays)
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}


def build(out_dir: Path, model_path: str | None = None, echo: Callable[[str], None] = print,
          command: str = "kata dev fixtures", root: Path = PACKAGE_ROOT) -> dict:
    """Writes every fixture and manifest.json into out_dir; returns the manifest."""
    import torch
    import transformers

    torch.use_deterministic_algorithms(True)
    files, models = {}, {}
    for name, kata_builders in builders(load_curriculum(root)).items():
        maker = family(name)
        model, tok = maker.load(model_path)
        for file, make in {**kata_builders, **maker.FAMILY_FILES}.items():
            echo(f"  {file}")
            summary = _write(out_dir / file, make(model, tok))
            files[file] = {"sha256": golden.sha256_of(out_dir / file), "arrays": summary}
        models[name] = maker.describe(model, tok, model_path)
    manifest = {
        "format": 1,
        "command": command,
        # the first family under "model", as the manifest always had it; every family under "models"
        "model": next(iter(models.values()), None),
        "models": models,
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "files": files,
    }
    if len(models) == 1:  # one family: the manifest's format as before
        del manifest["models"]
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
