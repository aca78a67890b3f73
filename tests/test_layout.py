"""The layout's rules, held by tests.

One kata, one place: generic modules never name, branch on or tabulate a kata number; every
kata's knowledge is in its folder, which curriculum.yaml names. The trust boundary: the parent's
side of a check (checker/check/) never imports the child's side (checker/child/) or MAX, and the
parent/child contract's names live in checker/protocol.py alone. The command layer (checker/cli/)
stays small: options in, words out."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from checker.curriculum import FOLDER_FILES, load_curriculum
from conftest import REPO

CHECKER = REPO / "checker"
# The generic machinery: every module of checker/ outside course/ and models/. Kata folders
# (checker/course/NN_*/) hold per-kata knowledge; model families (checker/models/) hold what
# several katas share.
GENERIC = sorted(p for p in CHECKER.rglob("*.py")
                 if p.relative_to(CHECKER).parts[0] not in ("course", "models"))
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


@pytest.mark.parametrize("path", GENERIC, ids=[str(p.relative_to(CHECKER)) for p in GENERIC])
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


# --- the trust boundary: the parent's side of a check ---

def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (relative imports resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


PARENT = sorted((CHECKER / "check").glob("*.py"))


def forbidden_for_the_parent(module: str) -> bool:
    return module == "max" or module.startswith(("max.", "checker.child"))


@pytest.mark.parametrize("path", PARENT, ids=[p.name for p in PARENT])
def test_the_parent_never_imports_the_child_side_or_max(path: Path):
    assert sorted(m for m in imported_modules(path) if forbidden_for_the_parent(m)) == []


def test_the_rule_catches_a_parent_importing_the_child(tmp_path):
    module = REPO / "checker" / "check" / "_probe_for_the_rule.py"
    assert forbidden_for_the_parent("checker.child.plugin") and forbidden_for_the_parent("max.driver")
    assert not forbidden_for_the_parent("checker.protocol") and not forbidden_for_the_parent("maxima")
    try:
        module.write_text("def f():\n    from checker.child import testkit\n    import max.driver\n")
        found = imported_modules(module)
    finally:
        module.unlink()
    assert {"checker.child.testkit", "max.driver"} <= found


def test_checking_a_kata_loads_no_max_in_the_parent(tmp_path):
    """Dynamically too: the check service, the runner and every kata's spec (which the parent
    imports to draw and judge fresh inputs) load neither MAX nor checker.child."""
    probe = (
        "import sys\n"
        "import checker.check.service, checker.check.fresh\n"
        "from checker.curriculum import load_curriculum\n"
        "from checker.check import fresh\n"
        "from pathlib import Path\n"
        f"curriculum = load_curriculum(Path({str(REPO)!r}))\n"
        "for kata in curriculum.available:\n"
        "    fresh.spec_of(kata)\n"
        "bad = sorted(m for m in sys.modules if m == 'max' or m.startswith(('max.', 'checker.child')))\n"
        "print('LOADED:', bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "LOADED: []" in done.stdout, done.stdout


# --- the parent/child contract in one module ---

CONTRACT = re.compile(r"^KATA_[A-Z_]+$")


def contract_literals(source: str) -> list[str]:
    """String constants that are a KATA_* name (messages and docstrings may mention one)."""
    return [f"line {node.lineno}: {node.value!r}" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and CONTRACT.match(node.value)] + [
        f"line {node.lineno}: keyword {node.arg}" for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.keyword) and node.arg and CONTRACT.match(node.arg)]


EVERY_MODULE = sorted(p for p in CHECKER.rglob("*.py") if p.name != "protocol.py")


@pytest.mark.parametrize("path", EVERY_MODULE, ids=[str(p.relative_to(CHECKER)) for p in EVERY_MODULE])
def test_kata_variables_are_named_in_the_protocol_only(path: Path):
    assert contract_literals(path.read_text(encoding="utf-8")) == []


def test_the_rule_catches_a_kata_variable():
    assert contract_literals('import os\nos.environ.get("KATA_ROOT")')
    assert contract_literals('env = dict(KATA_ROOT="x")')
    assert not contract_literals('message = "set KATA_ROOT to the course folder"')


# --- the command layer stays small ---

COMMANDS = sorted((CHECKER / "cli").glob("*.py"))


@pytest.mark.parametrize("path", COMMANDS, ids=[p.name for p in COMMANDS])
def test_command_modules_are_small(path: Path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300


# --- one check policy: every command checks through the service ---

def test_commands_check_through_the_service_only():
    """`kata check`, `kata watch` and `kata dev verify` get the lock, fixture, blame and record
    policy because none of them can reach the runner except through checker/check/service.py."""
    callers = [*COMMANDS, CHECKER / "dev" / "verify.py", CHECKER / "watch.py"]
    assert [p.name for p in callers if "checker.check.runner" in imported_modules(p)] == []
    assert any("checker.check.service" in imported_modules(p) for p in COMMANDS)
    assert "checker.check.service" in imported_modules(CHECKER / "dev" / "verify.py")
