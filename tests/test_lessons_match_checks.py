"""Every line of a kata's check is in its lesson, and the lesson promises no line the check lacks.

A kata's check shows one line per hidden test (checker.output.terminal.test_title of its name: the
parametrizations of one test share its title) and then the line for inputs made up for this check.
The lesson's "What the checker compares" section lists them as bullets that start with the title
in bold (`- **matches gpt2 block**: ...`), in the order the check runs them (pytest runs a file's
tests in the order they are defined).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from checker.curriculum import load_curriculum
from checker.check.verdict import FRESH_LINE
from checker.output import terminal

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## What the checker compares"
KATAS = load_curriculum(ROOT).available  # a kata not released yet may have no lesson yet


def hidden_tests(path: Path) -> list[str]:
    """The names of the test functions a kata's test_kata.py defines, in order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")]


def check_lines(path: Path) -> list[str]:
    """The titles of the check's lines, as `kata check` shows them (without parametrization)."""
    return [terminal.test_title(name) for name in hidden_tests(path)] + [terminal.test_title(FRESH_LINE)]


def section(lesson_text: str) -> str:
    """The lesson's "What the checker compares" section, up to the next heading of its level."""
    start = lesson_text.find(HEADING + "\n")
    if start < 0:
        return ""
    end = lesson_text.find("\n## ", start + len(HEADING))
    return lesson_text[start:] if end < 0 else lesson_text[start:end]


def promised(text: str) -> list[str]:
    """The lines a section lists: its bullets' bold titles, in order."""
    return [title.strip().lower() for title in re.findall(r"^- \*\*(.+?)\*\*", text, flags=re.M)]


def problems(lines: list[str], text: str) -> list[str]:
    """What is wrong with a lesson's section for a check with these lines (empty when right)."""
    if not text:
        return [f"no section {HEADING!r}"]
    found = []
    lowered = text.lower()
    for title in lines:
        if title.lower() not in lowered:
            found.append(f"the line {title!r} is not in the section")
    if "inputs made up for this check" not in lowered:
        found.append("the section does not mention the inputs made up for this check")
    listed = promised(text)
    if listed != [title.lower() for title in lines]:
        found.append(f"the section lists {listed}; the check's lines, in order, are {lines}")
    return found


@pytest.mark.parametrize("kata", KATAS, ids=[f"kata{k.number}" for k in KATAS])
def test_lesson_lists_every_line_of_the_check(kata):
    lesson = (ROOT / kata.lesson).read_text(encoding="utf-8")
    found = problems(check_lines(ROOT / kata.tests), section(lesson))
    assert not found, f"{kata.lesson}: " + "; ".join(found)


def test_part3s_released_katas_are_covered():
    """Katas 20 and 21 are released: their lessons are held to their checks like every other."""
    assert {20, 21} <= {k.number for k in KATAS}


def test_every_kata_shows_its_named_parameter_lines():
    """The katas whose modules load weights by name give that its own line (issue 14, item 7)."""
    for number in (4, 7, 9, 10, 11, 15, 16, 17, 21, 22):
        kata = next(k for k in KATAS if k.number == number)
        assert "test_parameter_names" in hidden_tests(ROOT / kata.tests), kata.tests
    nine = next(k for k in KATAS if k.number == 9)
    assert "test_halfway_point" in hidden_tests(ROOT / nine.tests)


def test_a_missing_or_extra_line_is_caught():
    """Removing a line from a lesson, or promising one the check lacks, fails the check above."""
    kata = next(k for k in KATAS if k.number == 9)
    lines = check_lines(ROOT / kata.tests)
    text = section((ROOT / kata.lesson).read_text(encoding="utf-8"))
    assert not problems(lines, text)

    for title in ("halfway point", "batch of two"):
        bullet = re.search(rf"^- \*\*{title}\*\*.*?(?=^- )", text, flags=re.M | re.S)
        assert bullet, f"kata 9's lesson has a {title} line"
        without = text.replace(bullet.group(0), "")
        found = problems(lines, without)
        assert any("the section lists" in p for p in found), found
    # "halfway point" is still said in another line; "batch of two" nowhere else
    assert any("'batch of two' is not in the section" in p for p in found), found

    extra = text + "\n- **matches gpt2 logits**: a line the check does not have.\n"
    assert any("the section lists" in p for p in problems(lines, extra))

    swapped = text.replace("**parameter names**", "**PLACEHOLDER**").replace(
        "**halfway point**", "**parameter names**").replace("**PLACEHOLDER**", "**halfway point**")
    assert any("in order" in p for p in problems(lines, swapped))

    no_fresh = text.replace("inputs made up for this check", "fresh inputs")
    assert any("inputs made up for this check" in p for p in problems(lines, no_fresh))
