"""The contract between `kata` (the parent) and the processes that run learner code (the children).

A check's child runs the hidden tests on a private copy of the course (checker/check/runner.py
starts it; checker/child/ runs inside it); `kata run` and `kata chat` start children of their own
(checker/play/). They talk through five things only, all defined here, so that neither side
writes a name or a shape the other reads by convention:
- environment variables (class Env): where things are, which learner modules to import;
- the result file the child's plugin writes last, stamped with the parent's one-time token
  (write_result / read_result): no valid file means an error, never a pass;
- the compile markers in the check's status folder (CompileMarkers): MAX compiling, so the
  watchdog stops the learner's clock;
- the step marker in the same folder (StepMarker): what a long check does now, in words, for
  the parent's live line;
- the fresh-input arrays (save_arrays / load_arrays): inputs the parent drew, outputs it judges.

Light on imports (no numpy at import time): `kata list` and `kata hint` load it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


class Env:
    """The environment variables a child reads (and the two a learner or instructor may set)."""

    # Set by the learner or instructor (documented in the README):
    ROOT = "KATA_ROOT"  # the course folder (default: found from the current folder)
    FIXTURES = "KATA_FIXTURES"  # golden fixtures to check against (kata check --fixtures)
    GGUF = "KATA_GGUF"  # SmolLM2's GGUF file (kata check --gguf), checked before use
    MODEL_CACHE = "KATA_MODEL_CACHE"  # where SmolLM2's file is kept (default ~/.cache/kata/models)
    WEIGHTS_CACHE = "KATA_WEIGHTS_CACHE"  # kata chat's kept load_gguf results (default ~/.cache/kata/weights)
    MEMORY_LIMIT_MB = "KATA_MEMORY_LIMIT_MB"  # a check's memory limit
    DEVICE = "KATA_DEVICE"  # "cpu" pins MAX to the CPU in float32 (the default)
    NO_WARM = "KATA_NO_WARM"  # "1": no background warm-up (checker/play/warmer.py)
    # Every child of `kata`:
    PARENT_PID = "KATA_PARENT_PID"  # the child ends when this process does (checker/child/lifeline.py)
    PARENT_DEATH = "KATA_PARENT_DEATH"  # "kill": ... outright, even while stopped (the warm-up's)
    # A check's child (checker/check/runner.py -> checker/child/plugin.py):
    FILE = "KATA_FILE"  # the learner file under test
    MODULE = "KATA_MODULE"  # ... imported under this name (katas.step_NN)
    PACKAGE = "KATA_PACKAGE"  # the kata folder's package (checker.course.kataNN_slug)
    DEPS_DIR = "KATA_DEPS_DIR"  # where earlier katas come from (katas/ or the reference solutions)
    USES_MAX = "KATA_USES_MAX"  # "1": install MAX's compile hook and CPU defaults
    STATUS_DIR = "KATA_STATUS_DIR"  # the check's private folder: compile markers
    RESULT_FILE = "KATA_RESULT_FILE"  # secret: where the verdict goes (popped before learner code)
    TOKEN = "KATA_TOKEN"  # secret: the one-time token the verdict must carry
    FRESH_IN = "KATA_FRESH_IN"  # secret: the parent's fresh inputs
    FRESH_OUT = "KATA_FRESH_OUT"  # secret: where the learner's outputs on them go
    # `kata run`'s and `kata chat`'s children (checker/play/):
    MODEL_MODULE = "KATA_MODEL_MODULE"  # the learner's model kata
    GENERATE_MODULE = "KATA_GENERATE_MODULE"  # the learner's generation kata (kata run)
    LOADER_MODULE = "KATA_LOADER_MODULE"  # the learner's GGUF loader kata (kata chat)
    CACHE_MODULE = "KATA_CACHE_MODULE"  # the learner's KV cache kata, once it passes
    SAMPLER_MODULE = "KATA_SAMPLER_MODULE"  # the learner's sampler kata, once it passes
    SAMPLING = "KATA_SAMPLING"  # the sampler's settings, as JSON
    SPECULATIVE_MODULE = "KATA_SPECULATIVE_MODULE"  # the learner's speculative decoding kata, once it passes
    SPECULATIVE = "KATA_SPECULATIVE"  # kata chat --speculative's drafter: prompt-lookup or early-exit
    SCHEDULER_MODULE = "KATA_SCHEDULER_MODULE"  # the learner's scheduler kata (kata serve)
    TIMINGS = "KATA_TIMINGS"  # where kata chat's child writes how long each part of its start took (bench)

    SECRETS = (RESULT_FILE, TOKEN, FRESH_IN, FRESH_OUT)
    # Named by the parent per run: never inherited from the parent's own environment.
    PER_RUN = (FILE, MODULE, PACKAGE, DEPS_DIR, USES_MAX, STATUS_DIR, *SECRETS, MODEL_MODULE,
               GENERATE_MODULE, LOADER_MODULE, CACHE_MODULE, SAMPLER_MODULE, SAMPLING,
               SPECULATIVE_MODULE, SPECULATIVE, SCHEDULER_MODULE)


def child_env(root: Path, **variables: str) -> dict[str, str]:
    """The environment of a child of `kata` working on the course at `root`: this process's own,
    less what an earlier run named, plus `variables` (Env names as keys)."""
    env = {key: value for key, value in os.environ.items() if key not in Env.PER_RUN}
    env.update({
        Env.ROOT: str(root), Env.PARENT_PID: str(os.getpid()), "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    env.update(variables)
    # MAX's default "composite" executor also compiles every new graph shape in background
    # processes, which a short run never reuses; on 2 cores that competes with the run itself.
    # Interpreting the (pre-compiled) ops alone measured 3x faster here.
    env.setdefault("MAX_EAGER_EXECUTOR", "interpreter")
    return env


def take(name: str) -> str | None:
    """A variable's value, removed from this process's environment (secrets, the parent's pid)."""
    return os.environ.pop(name, None)


# --- the result file: written by the child's plugin at the very end, read by the parent ---

def write_result(path: str, token: str | None, collected: int, exitstatus: int,
                 tests: list[dict]) -> None:
    """The child's verdict: one dict per hidden test (name, status, message, output, notes,
    duration_s), written atomically."""
    payload = {"token": token, "collected": collected, "exitstatus": exitstatus, "tests": tests,
               "finished_at": time.time()}
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(payload, out)
    os.replace(tmp, path)
    sys.stdout.flush()


def read_result(path: Path, token: str) -> dict | None:
    """The child's verdict, or None unless it is a well-formed file carrying this check's token."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("token") == token and isinstance(data.get("tests"), list):
        return data
    return None


# --- the compile markers: the child says when MAX compiles, the watchdog stops the clock ---

class CompileMarkers:
    """In a check's status folder: COMPILING holds the family MAX compiles now; COMPILED gets a
    line "family<TAB>seconds" per compile. The child writes, the parent's watchdog reads."""

    COMPILING = "compiling"
    COMPILED = "compiled"
    # The name a compile of a graph the eager interpreter refused is reported under.
    REFUSED = "a graph MAX's eager interpreter cannot run (F.repeat_interleave, for one)"

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.read_upto = 0

    def started(self, name: str) -> None:
        tmp = self.folder / (self.COMPILING + ".tmp")
        tmp.write_text(name, encoding="utf-8")
        tmp.replace(self.folder / self.COMPILING)

    def ended(self, name: str, seconds: float) -> None:
        with open(self.folder / self.COMPILED, "a", encoding="utf-8") as log:
            log.write(f"{name}\t{seconds:.2f}\n")
        (self.folder / self.COMPILING).unlink(missing_ok=True)

    def compiling_now(self) -> str | None:
        try:
            text = (self.folder / self.COMPILING).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        return text.strip() or None

    def new_compiles(self) -> list[tuple[str, float]]:
        """(family, seconds) for each compile that ended since the last call."""
        try:
            with open(self.folder / self.COMPILED, "rb") as handle:
                handle.seek(self.read_upto)
                chunk = handle.read(1 << 16)
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1
        self.read_upto += end
        found = []
        for line in chunk[:end].decode("utf-8", "replace").splitlines():
            name, _, seconds = line.partition("\t")
            try:
                found.append((name, float(seconds)))
            except ValueError:
                continue
        return found


# --- the step marker: what a long check's hidden tests do now, for the live line ---

class StepMarker:
    """In a check's status folder: STEP holds, in words, what the hidden tests do now ("reading
    the file with your load_gguf"), or nothing between steps. The child writes it
    (checker.child.testkit.step); the parent's watchdog shows it on the live line with its seconds.
    Learner code could write it too: it is only shown, never trusted."""

    STEP = "step"

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def began(self, text: str) -> None:
        tmp = self.folder / (self.STEP + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.folder / self.STEP)

    def ended(self) -> None:
        self.began("")

    def now(self) -> str | None:
        try:
            text = (self.folder / self.STEP).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        return " ".join(text.split())[:200] or None  # one line, however it was written


# --- the fresh-input arrays: the parent's inputs, the learner's outputs ---

def save_arrays(path: Path, arrays: dict) -> None:
    import numpy as np  # only here: light commands never load numpy

    with open(path, "wb") as out:
        np.savez(out, **arrays)


def load_arrays(path: Path) -> dict | None:
    """The arrays in `path`, or None when it is missing or not a plain npz of arrays."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError):
        return None
