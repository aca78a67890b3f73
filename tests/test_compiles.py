"""MAX's own "compiled X on the fly ... Run `max warm-interpreter-cache`" line never reaches the
learner: checker/child/compiles.py silences it in every process that runs learner code (the check's
child, `kata run`'s child). Cheap: MAX's policy module is plain Python."""

from __future__ import annotations

import pytest

import subprocess
import sys

from conftest import REPO

SAY = ("from max import _eager_policy\n"
       "_eager_policy.record_cold_compile('gather_GatherOp_cpu_0_uint32_int64', 0.0, provisioned=False)\n")


def _stderr(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=True).stderr


def test_max_says_it_without_us():
    """The premise: this MAX does print the line (else the next test proves nothing)."""
    assert "on the fly" in _stderr(SAY)


def test_silenced_by_the_checker():
    assert _stderr("from checker.child import compiles\ncompiles.silence()\n" + SAY) == ""
    assert _stderr("from checker.child import compiles\n"
                   "compiles.install(lambda name: None, lambda name, s: None)\n" + SAY) == ""



def _notices(tmp_path, compiles: list[tuple[str, float]]) -> list[str]:
    """What a check's watchdog tells the learner at the end of a check with these compiles."""
    from checker.check.watchdog import CompileClock
    from checker.protocol import CompileMarkers

    said = []
    clock = CompileClock(tmp_path, lambda kind, text: said.append((kind, text)))
    markers = CompileMarkers(tmp_path)
    for name, seconds in compiles:
        markers.ended(name, seconds)
    clock.tick(0.0)
    assert said == []  # compiles that ended are summed up, not said one by one
    clock.finish()
    assert {kind for kind, _ in said} <= {"compiled"}
    return [text for _, text in said]


def test_compile_notices_say_what_is_cached(tmp_path):
    """An op family is cached once compiled; a graph the eager interpreter refuses
    (F.repeat_interleave in kata 15) is compiled again in every check: the notices never call
    the second "once" or "cached", and `kata setup` is named once, with the families."""
    from checker.output.terminal import compiling_part
    from checker.protocol import CompileMarkers

    refused, family = CompileMarkers.REFUSED, "gather_GatherOp"
    said = _notices(tmp_path, [(refused, 62.0), (family, 20.0), ("matmul_MatmulOp", 30.0),
                               (family, 0.2)])  # a load from MAX's cache: not said
    assert said == [
        f"MAX compiled {refused} in 62 s, not counted against the check's limit. Such a graph is "
        "not cached between checks: every check compiles it again. Your lesson shows a spelling "
        "that runs without it.",
        f"MAX compiled {family} and matmul_MatmulOp for this machine in 50 s, not counted against "
        "the check's limit. They are cached now: later checks and runs reuse them. `kata setup` "
        "compiles every operation ahead of time.",
    ]
    assert "once" not in said[0] and "cached now" not in said[0]
    # the verdict line, which sums both kinds, does not call them "once" either
    assert compiling_part(82.4) == ", 82 s of it MAX compiling, not counted"
    assert "once" not in compiling_part(82.4) and compiling_part(0.5) == ""


def test_one_family_compiled_in_many_variants_is_one_line(tmp_path):
    """MAX compiles a family once per variant (dtype, rank): eight variants of unary were eight
    lines; now the family is said once on the live line, and once in the summary, its seconds
    summed."""
    said = _notices(tmp_path, [("unary", 3.0)] * 8)
    assert said == ["MAX compiled unary for this machine in 24 s, not counted against the check's "
                    "limit. It is cached now: later checks and runs reuse it. `kata setup` "
                    "compiles every operation ahead of time."]


def test_the_live_line_names_each_family_once_with_the_seconds_so_far(tmp_path):
    """While MAX compiles: one announcement per family ("compiling"), later variants only update
    the live line ("compiling again"), and "idle" hands it back to the check when each ends."""
    from checker.check.watchdog import ANNOUNCE_AFTER_S, CompileClock
    from checker.protocol import CompileMarkers

    said = []
    clock = CompileClock(tmp_path, lambda kind, text: said.append((kind, text)))
    markers = CompileMarkers(tmp_path)
    now = 0.0
    for name in ("unary", "unary", "binary"):
        markers.started(name)
        clock.tick(now)
        now += ANNOUNCE_AFTER_S + 1
        clock.tick(now)
        markers.ended(name, ANNOUNCE_AFTER_S + 1)
        clock.tick(now)
    kinds = [kind for kind, _ in said]
    assert kinds == ["compiling", "idle", "compiling again", "idle", "compiling", "idle"], said
    assert said[0][1].startswith("MAX is compiling unary for this machine (the first use only")
    assert said[4][1].startswith("MAX is compiling binary for this machine: unary and binary so "
                                 f"far, {clock.paused:.0f} s (the first use only"), said[4]
    assert clock.paused == pytest.approx(3 * (ANNOUNCE_AFTER_S + 1))


def test_each_notice_is_its_own_line_before_the_advice(monkeypatch, capsys):
    """Output that is not a terminal: a compile notice is a line of its own, on stdout with the
    rest, in the order it happened: before the verdict and "Stuck? `kata hint 13`.", never on
    that line (on stderr it could land after it in a log that holds both)."""
    from checker.check.verdict import CheckResult, Status
    from checker.check.watchdog import compiled_summary
    from checker.cli import check
    from checker.curriculum import load_curriculum

    curriculum = load_curriculum(REPO)
    kata = curriculum.get(13)
    notice = compiled_summary({"rms_norm": 21.0})

    def fake_check(curriculum, store, kata, force=False, on_event=None):
        on_event("checking", f"{kata.number}. {kata.title}")
        on_event("compiled", notice)
        return CheckResult(kata.number, kata.slug, Status.FAIL, compile_s=21.0,
                           tests=[{"name": "test_matches_hf", "status": "fail", "message": "off"}])

    monkeypatch.setattr(check, "check_kata", fake_check)
    monkeypatch.setattr(check.console, "width", 200)
    check.check_and_show(curriculum, None, kata, force=False)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == "", err
    assert lines[0] == f"Checking kata 13: {kata.title} ..."
    assert lines[1] == "  " + notice
    assert lines[-1] == f"Fix {kata.file} and run `kata check 13` again. Stuck? `kata hint 13`."
    assert sum("MAX compiled" in line for line in lines) == 1
