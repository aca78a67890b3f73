"""A pytest plugin that writes down which of MAX's eager op families a check's child uses.

Loaded into every check's child with PYTEST_PLUGINS=family_recorder (its folder on PYTHONPATH)
and COURSE_FAMILY_LOG=FILE: each first use of a family's variant in the process appends the
family's name to FILE. bench/course_families.py and tests/test_verify.py read it to prove that
`kata setup` compiles every family the course's reference solutions use
(checker/play/warmup.COURSE_FAMILIES)."""

from __future__ import annotations

import os

LOG = "COURSE_FAMILY_LOG"


def pytest_configure(config):  # after checker.child.plugin has set up the process for MAX
    path = os.environ.get(LOG)
    if not path:
        return
    from max._interpreter_ops.gc_compile import GCOpFamily

    original = GCOpFamily.model_for

    def model_for(self, key, *args, **kwargs):
        if key not in self.cache:
            with open(path, "a", encoding="utf-8") as log:
                log.write(self.name + "\n")
        return original(self, key, *args, **kwargs)

    GCOpFamily.model_for = model_for


def read(path) -> set[str]:
    """The families a log names."""
    try:
        return {line.strip() for line in open(path, encoding="utf-8") if line.strip()}
    except FileNotFoundError:
        return set()
