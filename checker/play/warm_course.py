"""`kata setup`'s compiling, in its own process (`python -m checker.play.warm_course FAMILY ...`):
MAX's eager op families that the course uses, compiled for this machine into MAX's cache.

MAX 26.7 compiles each eager operation for the machine the first time a process uses it (20 s
or more each on 2 cores), one variant (dtype, rank) at a time. `max warm-interpreter-cache`
instead compiles every variant of every family in batches and writes a stamp; a process that
finds the stamp loads each family's batch from the cache the first time it uses the family. This
does the same for the named families only, then writes the same stamp: a family outside the list
still works afterwards, compiled as a whole batch the first time something uses it.

MAX's batch compile is internal (max._interpreter_ops.warm, pinned with max==26.7.0): if it is
missing, the process exits 3 and `kata setup` falls back to MAX's own command.
"""

from __future__ import annotations

import os
import sys
import time

NO_HOOK = 3  # this MAX has no batch-compile internals: use `max warm-interpreter-cache`


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def main(names: list[str]) -> int:
    from checker.child import sigint

    sigint.install()  # before MAX, as in every process of ours that runs it (MAX-NOTES.md)
    try:
        from max import _interpreter_ops  # noqa: F401 - importing it registers the families
        from max._interpreter_ops import gc_compile, warm
    except ImportError:
        return NO_HOOK
    if not hasattr(warm, "_warm_parallel") or not hasattr(gc_compile, "write_warm_stamp"):
        return NO_HOOK
    if gc_compile.provisioned():
        print("MAX's kernels are already compiled for this machine: checks start fast.", flush=True)
        return 0
    wanted = set(names)
    families = [f for f in gc_compile.registered_families() if f.name in wanted]
    if not families or len(families) != len(wanted):  # another MAX's families: warm them all
        return NO_HOOK
    jobs = max(1, min(len(families), os.cpu_count() or 1))
    began = time.monotonic()
    try:
        events = warm._warm_parallel(families, jobs) if jobs > 1 else warm._warm_serial(families)
        for done, (name, ops) in enumerate(events, start=1):
            print(f"  compiled {name} ({ops} variants), {done} of {len(families)} families, "
                  f"{_minutes(time.monotonic() - began)} so far", flush=True)
    except RuntimeError as exc:  # a compile failed or a worker died: nothing is stamped
        print(f"MAX could not compile its kernels: {exc}", file=sys.stderr, flush=True)
        return 1
    if not gc_compile.write_warm_stamp():
        print("MAX compiled its kernels but could not record it in its cache folder, so checks "
              "will compile again; is ~/.cache/modular writable?", file=sys.stderr, flush=True)
        return 1
    print(f"Compiled {len(families)} op families in {_minutes(time.monotonic() - began)}.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
