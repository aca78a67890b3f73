"""A SyntaxError in a learner's file, in words: the line and a caret.

Said by the parent before a check starts (nothing to run: no MAX, no pytest) and by the child
when it imports the learner's file, in the same words.
"""

from __future__ import annotations

from pathlib import Path


def syntax_problem(path: Path, root: Path) -> str | None:
    """A SyntaxError in the learner's file, with its line and a caret; None if it compiles."""
    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        try:
            shown = str(path.relative_to(root))
        except ValueError:
            shown = str(path)
        return syntax_message(exc, shown)
    except (OSError, ValueError):
        return None  # unreadable or NUL bytes: the child reports it with the full story
    return None


def syntax_message(exc: SyntaxError, shown: str) -> str:
    caret = ""
    if exc.text:
        line = exc.text.rstrip("\n")
        offset = max((exc.offset or 1) - 1, 0)
        caret = f"\n    {line}\n    {' ' * offset}^"
    return f"SyntaxError in {shown}, line {exc.lineno}: {exc.msg}{caret}"
