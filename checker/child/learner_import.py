"""Imports the learner's kata file inside the check's child process, and explains failures.

Later katas import earlier ones as `katas.step_NN`. The parent says where those come from
(KATA_DEPS_DIR: the learner's katas/ folder, or the reference solutions for `kata dev verify`)
and which file is under test (KATA_FILE, registered as KATA_MODULE).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from checker.protocol import Env
from checker.syntax import syntax_message


class LearnerImportError(Exception):
    """The learner's file could not be imported; the message says where and why."""


def configure_packages() -> None:
    deps = os.environ.get(Env.DEPS_DIR)
    if not deps:
        return
    import katas

    katas.__path__[:] = [str(Path(deps).resolve())]


def learner_frames(tb, files: set[str]) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(tb) if str(Path(f.filename).resolve()) in files]


# MAX's last word on two shapes that do not broadcast. A rebind tells MAX that two sizes it cannot
# prove equal are equal at runtime; in the course's code the sizes really differ, so the advice
# would only hide the mistake: it is replaced by what it means for the learner.
MAX_REBIND_ADVICE = "Insert an explicit rebind if these dims will be equivalent at runtime."
REBIND_MEANS = ("(MAX's advice to insert a rebind does not apply here: these sizes really differ. "
                "One of the two tensors has the wrong shape: print both shapes just before this "
                "line.)")


def describe_exception(exc: BaseException, files: set[str], root: Path | None = None,
                       rebind_means: str = REBIND_MEANS) -> str:
    """One paragraph: the exception, and the learner's line where it happened (our frames cut).
    MAX's advice to insert a rebind becomes `rebind_means` (a kata may say more, or "")."""
    frames = learner_frames(exc.__traceback__, files)
    text = f"{type(exc).__name__}: {exc}".strip()
    if MAX_REBIND_ADVICE in text:
        text = text.replace(MAX_REBIND_ADVICE if rebind_means else " " + MAX_REBIND_ADVICE, rebind_means)
    if isinstance(exc, SystemExit):
        text = f"your code called sys.exit({exc.code!r}); a kata must return its result instead"
    if not frames:
        return text
    frame = frames[-1]
    shown = frame.filename
    if root is not None:
        try:
            shown = str(Path(frame.filename).resolve().relative_to(root))
        except ValueError:
            pass
    code = f"\n    {frame.line}" if frame.line else ""
    return f"{text}\n  at {shown}, line {frame.lineno}, in {frame.name}{code}"


def import_learner(root: Path) -> ModuleType:
    """The module under test. Raises LearnerImportError with a learner-readable message."""
    configure_packages()
    name = os.environ[Env.MODULE]
    path = Path(os.environ[Env.FILE]).resolve()
    if name in sys.modules:
        return sys.modules[name]
    try:
        shown = str(path.relative_to(root))
    except ValueError:
        shown = str(path)
    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        raise LearnerImportError(syntax_message(exc, shown)) from None
    except OSError as exc:
        raise LearnerImportError(f"Cannot read {shown}: {exc.strerror}") from None
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    package, _, child = name.rpartition(".")
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - learner code can raise anything, SystemExit too
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise LearnerImportError(
            f"Importing {shown} failed:\n{describe_exception(exc, kata_files(), root)}"
        ) from None
    if package:
        setattr(importlib.import_module(package), child, module)
    return module


def kata_files() -> set[str]:
    """Every file of the katas package in use, so tracebacks can point into earlier katas too."""
    folders = [Path(os.environ[Env.DEPS_DIR])] if os.environ.get(Env.DEPS_DIR) else []
    files = {str(p.resolve()) for folder in folders for p in folder.glob("*.py")}
    if os.environ.get(Env.FILE):
        files.add(str(Path(os.environ[Env.FILE]).resolve()))
    return files
