"""A long check says what it does now: the child's hidden tests name their step
(checker.child.testkit.step, through protocol.StepMarker), the parent's watchdog shows it on the
live line with its seconds (checker/check/watchdog.py StepLine), and `kata check` shows it: on a
terminal as the spinner's line, in a log once per step. Kata 18's real check says each of its
steps, in order (tests/test_part2_katas.py holds that on the real file)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from conftest import REPO


def _line(tmp_path):
    from checker.check.watchdog import StepLine
    from checker.protocol import StepMarker

    said = []
    return StepLine(tmp_path, lambda kind, text: said.append((kind, text))), StepMarker(tmp_path), said


def test_a_step_is_said_once_then_its_seconds_count(tmp_path):
    line, marker, said = _line(tmp_path)
    line.tick(0.0)
    assert said == []  # nothing said before the child names a step
    marker.began("reading the file with your load_gguf")
    line.tick(10.0)
    line.tick(10.5)  # under a second later: the line is not redrawn
    line.tick(12.2)
    line.tick(22.4)
    assert said == [("step", "reading the file with your load_gguf ..."),
                    ("step again", "reading the file with your load_gguf (2 s)"),
                    ("step again", "reading the file with your load_gguf (12 s)")]
    marker.ended()
    line.tick(23.0)
    assert said[-1] == ("idle", "")  # between steps the line is the check's own again


def test_a_compile_has_the_line_first_and_the_step_comes_back(tmp_path):
    line, marker, said = _line(tmp_path)
    marker.began("your model's logits on a 12-token sentence")
    line.tick(0.0, compiling=True)
    assert said == []  # a log still gets the step, once the compile's line has gone
    line.tick(5.0, compiling=True)
    line.tick(5.1, compiling=False)
    line.tick(5.2, compiling=False)
    assert said == [("step", "your model's logits on a 12-token sentence ...")]
    line.tick(9.0, compiling=True)
    line.tick(9.1, compiling=False)  # right after the compile: redrawn at once, seconds since the step began
    assert said[-1] == ("step again", "your model's logits on a 12-token sentence (9 s)")


def test_the_marker_is_one_short_line_and_a_missing_one_is_none(tmp_path):
    from checker.protocol import StepMarker

    marker = StepMarker(tmp_path)
    assert marker.now() is None
    marker.began("two\nlines  " + "x" * 500)
    assert marker.now().startswith("two lines x") and len(marker.now()) == 200
    marker.ended()
    assert marker.now() is None


def test_the_childs_step_restores_the_step_around_it(tmp_path):
    """testkit.step in a child: the marker holds the innermost step, then the outer one again,
    then nothing; outside a check (no status folder) it does nothing and fails nothing."""
    from checker.protocol import Env

    code = ("import os, pathlib\n"
            "from checker.child.testkit import step\n"
            "from checker.protocol import Env, StepMarker\n"
            "m = StepMarker(pathlib.Path(os.environ[Env.STATUS_DIR]))\n"
            "seen = []\n"
            "with step('building your model'):\n"
            "    seen.append(m.now())\n"
            "    with step('reading the file'):\n"
            "        seen.append(m.now())\n"
            "    seen.append(m.now())\n"
            "seen.append(m.now())\n"
            "del os.environ[Env.STATUS_DIR]\n"
            "with step('nowhere to say it'):\n"
            "    seen.append(m.now())\n"
            "print(seen)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), **{Env.STATUS_DIR: str(tmp_path)})
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == ("['building your model', 'reading the file', 'building your model', "
                           "None, None]")


def test_the_parents_own_step_is_said_only_when_it_lasts(monkeypatch):
    from checker.check import watchdog

    monkeypatch.setattr(watchdog, "STEP_EVERY_S", 0.05)
    said = []
    with watchdog.parent_step(lambda *event: said.append(event), "judging"):
        pass
    assert said == []
    with watchdog.parent_step(lambda *event: said.append(event), "judging"):
        deadline = time.monotonic() + 10  # a loaded machine may start the thread late
        while len(said) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    kinds = [kind for kind, _ in said]
    assert kinds[0] == "step" and said[0][1] == "judging ..." and kinds[-1] == "idle"
    assert set(kinds[1:-1]) == {"step again"}
    with watchdog.parent_step(None, "judging"):  # nobody listening: no thread, nothing said
        pass


def test_kata_check_shows_each_step_once_in_a_log(monkeypatch, capsys):
    """Output that is not a terminal: each step is a line of its own, once, in order; the live
    line's seconds ("step again") and "idle" are a terminal's only."""
    from checker.check.verdict import CheckResult, Status
    from checker.cli import check
    from checker.curriculum import load_curriculum

    curriculum = load_curriculum(REPO)
    kata = curriculum.available[-1]

    def fake_check(curriculum, store, kata, force=False, on_event=None):
        on_event("checking", f"{kata.number}. {kata.title}")
        on_event("step", "reading the file with your load_gguf ...")
        on_event("step again", "reading the file with your load_gguf (1 s)")
        on_event("idle", "")
        on_event("step", "comparing your 273 tensors with Hugging Face's ...")
        return CheckResult(kata.number, kata.slug, Status.PASS, tests=[])

    monkeypatch.setattr(check, "check_kata", fake_check)
    monkeypatch.setattr(check.console, "width", 200)
    check.check_and_show(curriculum, None, kata, force=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == ["  reading the file with your load_gguf ...",
                          "  comparing your 273 tensors with Hugging Face's ..."], lines
    assert not any("(1 s)" in line for line in lines)


def test_kata_check_puts_the_step_on_a_terminals_live_line(monkeypatch):
    """On a terminal the step and its seconds are the spinner's text, after "Checking kata N:"."""
    from checker.check.verdict import CheckResult, Status
    from checker.cli import check
    from checker.curriculum import load_curriculum

    curriculum = load_curriculum(REPO)
    kata = curriculum.available[-1]
    shown = []

    class Status_:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, text):
            shown.append(text)

    def fake_check(curriculum, store, kata, force=False, on_event=None):
        on_event("step", "reading the file with your load_gguf ...")
        on_event("step again", "reading the file with your load_gguf (12 s)")
        on_event("idle", "")
        return CheckResult(kata.number, kata.slug, Status.PASS, tests=[])

    monkeypatch.setattr(check, "check_kata", fake_check)
    monkeypatch.setattr(type(check.console), "is_terminal", property(lambda self: True))
    monkeypatch.setattr(check.console, "status", lambda text: Status_())
    monkeypatch.setattr(check.terminal, "render_result", lambda *a: None)
    monkeypatch.setattr(check, "after", lambda *a: None)
    check.check_and_show(curriculum, None, kata, force=False)
    assert shown == [f"Checking kata {kata.number}: reading the file with your load_gguf ...",
                     f"Checking kata {kata.number}: reading the file with your load_gguf (12 s)",
                     f"Checking kata {kata.number}: {kata.title} ..."]
