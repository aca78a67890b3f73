"""One kata, one place: generic modules never name, branch on or tabulate a kata number; every
kata's knowledge is in its folder, which curriculum.yaml names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from checker.curriculum import FOLDER_FILES, load_curriculum
from conftest import REPO

# The generic machinery: every module directly in checker/. Kata folders (checker/course/NN_*/)
# hold per-kata knowledge; model families (checker/models/) hold what several katas share.
GENERIC = sorted((REPO / "checker").glob("*.py"))
# "kata 12", "step_07" (kata 1 and the bounds 0 and 1 are where numbering starts, not a kata's knowledge)
KATA_TEXT = re.compile(r"step_\d\d|\bkatas? (?!1\b)\d", re.IGNORECASE)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _names_a_kata(node: ast.AST) -> bool:
    text = ast.unparse(node).lower()
    return "number" in text or "kata" in text


def _int_literals(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) is int and node.value > 1
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return bool(node.elts) and all(_int_literals(e) for e in node.elts)
    return False


def kata_number_uses(source: str) -> list[str]:
    """Where `source` dispatches on, tabulates or names a kata by number."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_names_a_kata(s) for s in sides) and any(_int_literals(s) for s in sides):
                found.append(f"line {node.lineno}: compares a kata number with a literal: "
                             f"{ast.unparse(node)}")
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if isinstance(k, ast.Constant) and type(k.value) is int]
            if len(keys) >= 2:
                found.append(f"line {node.lineno}: a table keyed by numbers")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and KATA_TEXT.search(node.value):
            found.append(f"line {node.lineno}: names a kata in text: {node.value!r}")
    return found


@pytest.mark.parametrize("path", GENERIC, ids=[p.name for p in GENERIC])
def test_generic_module_names_no_kata(path: Path):
    assert kata_number_uses(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source", [
    "if number == 12:\n    pass",
    "x = kata.number in (10, 11)",
    "runners = {1: a, 2: b, 8: c}",
    "import importlib\nimportlib.import_module('katas.step_11')",
    "message = f'Kata 12 has not passed yet'",
])
def test_the_rule_catches_kata_dispatch(source):
    assert kata_number_uses(source), source


def test_every_kata_lives_in_its_folder():
    curriculum = load_curriculum(REPO)
    for kata in curriculum.available:
        folder = REPO / kata.folder
        assert folder.parent == REPO / "checker" / "course", kata.folder
        assert folder.name.startswith(f"kata{kata.number:02d}_"), "the folder starts with the number"
        assert folder.name.isidentifier(), "a package name: relative imports need one"
        for name in (*FOLDER_FILES.values(), "__init__.py"):
            assert (folder / name).is_file(), f"{kata.folder}/{name}"
    folders = {p.name for p in (REPO / "checker" / "course").iterdir() if p.is_dir()
               and p.name.startswith("kata")}
    assert folders <= {Path(k.folder).name for k in curriculum.katas}, "no stray kata folders"
