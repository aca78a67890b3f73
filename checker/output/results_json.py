"""`kata check --json`: results in the shape of Exercism's test-runner results (version 3).

Exercism's shape is what graders and dashboards already read; GitHub Classroom's grading reporter
reads the same object plus `max_score` and a `score` per test, so both are added. Our own fields
(kata, slug, kata_status, duration_s, sha256, checker_version) ride along as extras. The schema
is schemas/check-result.schema.json.
"""

from __future__ import annotations

from checker import __version__
from checker.check.verdict import CheckResult
from checker.curriculum import Kata

EXERCISM_VERSION = 3
# Exercism knows pass/fail/error only. A time-out means the tests could not finish (an error);
# a locked kata was not attempted (a fail for grading). A skipped hidden test makes the runner's
# verdict fail, so it is a fail here too. The precise status stays in `kata_status`/`test_status`.
KATA_STATUS = {"pass": "pass", "fail": "fail", "error": "error", "timeout": "error", "locked": "fail"}
TEST_STATUS = {"pass": "pass", "fail": "fail", "error": "error", "skip": "fail"}


def _shares(points: float, count: int, passed: bool) -> list[float]:
    """Per-test scores that add up exactly to the kata's score (all or nothing per kata).
    Whole points, so that Classroom's reporter, which adds every test's score in turn,
    never shows 119.99999999999999 of 120; fractional points go to the first test."""
    if not count:
        return []
    if not passed:
        return [0] * count
    if not float(points).is_integer():
        return [points] + [0] * (count - 1)
    each, extra = divmod(int(points), count)
    return [each + 1] * extra + [each] * (count - extra)


def kata_result(result: CheckResult, kata: Kata, points: float = 1) -> dict:
    """One kata's result. A kata is worth `points` when it passes and 0 otherwise."""
    points = int(points) if float(points).is_integer() else points  # 10, not 10.0, in reports
    status = KATA_STATUS.get(result.status, "error")
    score = points if result.passed else 0
    shown = result.shown_tests
    shares = _shares(points, len(shown), result.passed)
    tests = []
    for test, share in zip(shown, shares):
        tests.append({
            "name": test["name"],
            "status": TEST_STATUS.get(test.get("status"), "error"),
            "message": test.get("message"),
            "output": test.get("output"),
            "score": share,
            "test_status": test.get("status"),
            "duration_s": test.get("duration_s"),
        })
    return {
        "version": EXERCISM_VERSION,
        "status": status,
        "message": result.blame or result.message,
        "tests": tests,
        "score": score,
        "max_score": points,
        "kata": kata.number,
        "slug": kata.slug,
        "title": kata.title,
        "kata_status": result.status,
        "duration_s": result.duration_s,
        "sha256": result.sha256,
        "fresh_judgement": result.fresh_judgement,
        "fresh_margin": result.fresh_margin,
        "compile_s": result.compile_s,
        "checker_version": __version__,
    }


def overall_status(statuses: list[str]) -> str:
    """Exercism's status for several katas: any fail wins, then any error, else pass."""
    if "fail" in statuses:
        return "fail"
    if "error" in statuses:
        return "error"
    return "pass"


def _first_problem(kata: dict) -> str | None:
    """The kata's own message and its first failing test's message, for a one-line summary."""
    if kata["status"] == "pass":
        return None
    first = next((t["message"] for t in kata["tests"] if t["status"] != "pass" and t["message"]), None)
    parts = [m for m in (kata["message"], first) if m]
    return "\n".join(dict.fromkeys(parts)) or None


def all_results(katas: list[dict]) -> dict:
    """`kata check --all --json`: the same top-level shape, one test per kata, and every kata's
    full result under `katas`. Scores add up, so Classroom's reporter can read it too."""
    passed = sum(1 for k in katas if k["status"] == "pass")
    status = overall_status([k["status"] for k in katas])
    return {
        "version": EXERCISM_VERSION,
        "status": status,
        "message": None if status == "pass" else f"{passed} of {len(katas)} katas pass.",
        "tests": [{
            "name": f"Kata {k['kata']}: {k['title']}",
            "status": k["status"],
            "message": _first_problem(k),
            "output": None,
            "score": k["score"],
        } for k in katas],
        "score": sum(k["score"] for k in katas),
        "max_score": sum(k["max_score"] for k in katas),
        "katas": katas,
        "duration_s": round(sum(k["duration_s"] or 0 for k in katas), 2),
        "checker_version": __version__,
    }
