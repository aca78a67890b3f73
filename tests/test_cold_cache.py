"""A learner's first evening: a machine whose MAX kernels were never compiled (no `kata setup`).

Each test points MAX at an empty cache folder (MODULAR_CACHE_DIR), as on a new laptop or CI
runner. Expensive (marked `cold_max_cache`): the passing check compiles kata 3's kernels from
nothing, 1-3 minutes on 2 cores; the loops compile little or nothing. They run in CI all the
same: only they prove that a learner's time limit holds, and that the learner reads the course's
words, not MAX's, on such a machine.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import messages_of, place_solution, run_kata_cli
from test_fault_matrix import _forward

from checker.curriculum import load_curriculum
from checker.check.runner import run_kata

pytestmark = pytest.mark.cold_max_cache

SLACK_S = 6  # starting and killing a child on a loaded 2-core machine
MAX_CHATTER = ("on the fly", "warm-interpreter-cache", "kernels are not all compiled")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    folder = tmp_path / "max-cache"
    folder.mkdir()
    monkeypatch.setenv("MODULAR_CACHE_DIR", str(folder))
    monkeypatch.delenv("MODULAR_DERIVED_PATH", raising=False)
    return folder


def _check(course, source: str | None, limit: float):
    if source is not None:
        (course / "katas" / "step_03.py").write_text(source)
    curriculum = load_curriculum(course)
    events: list[tuple[str, str]] = []
    started = time.monotonic()
    result = run_kata(curriculum, curriculum.get(3), time_limit_s=limit,
                      on_event=lambda kind, text: events.append((kind, text)))
    return result, time.monotonic() - started, events


@pytest.mark.parametrize("where,source", [
    ("import", "while True:\n    pass\n"),
    ("forward", _forward("while True:\n    pass")),
], ids=["at_import", "in_forward"])
def test_infinite_loop_gets_its_limit_and_no_more(course, empty_cache, where, source):
    result, elapsed, _ = _check(course, source, limit=12)
    assert result.status == "timeout", messages_of(result)
    assert "did not finish within 12 seconds" in result.message
    # the learner's own code ran for its 12 s; only MAX's compiling (if any) is added
    assert elapsed - result.compile_s < 12 + SLACK_S, (elapsed, result.compile_s)


def test_correct_kata_that_compiles_longer_than_its_limit_passes(course, empty_cache):
    place_solution(course, 3)
    result, elapsed, events = _check(course, None, limit=10)
    assert result.status == "pass", messages_of(result)
    assert result.compile_s > 10, ("MAX compiled for less than the limit here: lower the limit "
                                   f"so that this test proves something ({result.compile_s} s)")
    said = "\n".join(text for _, text in events)
    summaries = [text for kind, text in events if kind == "compiled"]
    assert len(summaries) == 1 and "layer_norm" in summaries[0], said  # one line, every family
    assert summaries[0].startswith("MAX compiled ") and " for this machine in " in summaries[0]
    assert "`kata setup`" in said, said
    assert not any(word in said for word in MAX_CHATTER), said
    outputs = "\n".join(t.get("output") or "" for t in result.tests)
    assert not any(word in outputs for word in MAX_CHATTER), outputs

    # The next check on this machine compiles nothing, so it says nothing about compiling.
    code, out, err = run_kata_cli(course, "check", "3", "--force")
    assert code == 0, out + err
    for word in (*MAX_CHATTER, "MAX compiled", "MAX is compiling", "of it MAX compiling"):
        assert word not in out + err, out + err
    code, out, err = run_kata_cli(course, "check", "3", "--force", "--json")
    assert code == 0, out + err
    data = json.loads(out)
    assert not any(word in json.dumps(data) + err for word in MAX_CHATTER), out + err
