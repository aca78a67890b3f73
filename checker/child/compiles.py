"""MAX's first-use compiles, seen from inside the process that runs them.

Eager MAX compiles each operation family the first time a machine uses it (20 s to 3 min each
on 2 cores; cached afterwards). It logs "compiled X on the fly in N s. Run `max
warm-interpreter-cache` ..." for the first one of each process, even when it only loaded X from
its cache in 0.0 s. That line is MAX's internal chatter, not the course's: install() silences it
and calls `started(name)` and `ended(name, seconds)` around every compile instead, so that a
check's watchdog can stop its clock while MAX (not the learner's code) works, and the learner
hears about a real compile in the course's words.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Callable

from checker.protocol import CompileMarkers


def silence() -> None:
    """No more "compiled X on the fly" lines from MAX in this process."""
    logging.getLogger("max._eager_policy").setLevel(logging.ERROR)


def install(started: Callable[[str], None], ended: Callable[[str, float], None]) -> bool:
    """Silences MAX's line and reports each compile; False where this MAX has no such hook (a
    compile then simply counts as the learner's time).

    Only the eager op families are watched: each compiles a given variant at most once per
    process, so however long the learner's code runs, the clock stops a bounded number of times.
    A graph the learner compiles on purpose (Module.compile) is the learner's time, as it is in
    their own scripts."""
    silence()
    try:
        from max._interpreter_ops.gc_compile import GCOpFamily
    except ImportError:
        return False
    original = getattr(GCOpFamily, "model_for", None)
    if original is None:
        return False

    def model_for(self, key, *args, **kwargs):
        if key in self.cache:  # compiled already: the path every later call takes
            return original(self, key, *args, **kwargs)
        began = time.monotonic()
        started(self.name)
        try:
            return original(self, key, *args, **kwargs)
        finally:
            ended(self.name, time.monotonic() - began)

    GCOpFamily.model_for = model_for
    _compile_refused_graphs(started, ended)
    return True


REFUSED = CompileMarkers.REFUSED
_INTERPRETER = []  # the plain interpreter, once refused graphs are compiled (see staged_executor)


def staged_executor():
    """The executor for a whole staged call (checker.child.staging.batched): the plain interpreter, so that
    a refused graph fails there and the call runs again op by op, where only the refused op's own
    small graph is compiled (49 s measured) instead of the whole model's (634 s). None: MAX's
    default."""
    return _INTERPRETER[0] if _INTERPRETER else None


def _compile_refused_graphs(started, ended) -> None:
    """Under MAX's eager interpreter (what the checker runs), a graph the interpreter refuses for
    a custom op is compiled instead of failing: MAX 26.7's interpreter refuses
    F.repeat_interleave, a correct way to write kata 15 (measured: 49-102 s to compile each new
    shape on 2 cores). That compile is MAX's work, reported like an op family's so that the clock
    stops for it. Other refusals (a bfloat16 cast on the CPU, for one) fail as they always did:
    compiling them would only hide the learner's mistake behind a minute of compiling.

    MAX's own compile-on-refusal path is internal (_session, _eager_model_cache_key; max is
    pinned to 26.7.0): without it, a refused graph fails as plain MAX fails."""
    import os

    if os.environ.get("MAX_EAGER_EXECUTOR", "").lower() != "interpreter":
        return
    try:
        from max.experimental.executor import (InterpreterExecutor, UnsupportedGraphError,
                                               _eager_model_cache_key, _session,
                                               set_default_executor)
    except ImportError:
        return
    # No op limit, as MAX_EAGER_EXECUTOR=interpreter itself runs (MAX's internal fallback
    # executor refuses graphs over 1024 ops: a whole SmolLM2 forward would run op by op).
    interpreter = InterpreterExecutor()
    _INTERPRETER.append(interpreter)
    compiled: dict = {}

    class CompileRefused:
        def execute(self, graph, inputs):
            try:
                return interpreter.execute(graph, inputs)
            except UnsupportedGraphError as refusal:
                if "custom op" not in str(refusal):
                    raise
            key = _eager_model_cache_key(graph)
            if key not in compiled:
                began = time.monotonic()
                started(REFUSED)
                try:
                    compiled[key] = _session().load(graph)
                finally:
                    ended(REFUSED, time.monotonic() - began)
            return compiled[key](*inputs)

    set_default_executor(CompileRefused())


def report_to(folder: Path) -> tuple[Callable[[str], None], Callable[[str, float], None]]:
    """started/ended callbacks that tell the parent's watchdog through the check's status folder."""
    markers = CompileMarkers(folder)
    return markers.started, markers.ended


def say_compiled(name: str, seconds: float) -> None:
    """A real compile (not a load from MAX's cache), in the course's words, on stderr."""
    if seconds >= 1:  # shorter ones are loads from MAX's cache
        print(f"(MAX compiled {name} for this machine in {seconds:.0f} s, once; `kata setup` "
              "compiles every operation ahead of time.)", file=sys.stderr)
