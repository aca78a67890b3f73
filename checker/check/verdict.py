"""A check's verdict, built once: its typed status, its tests as people read them, and why.

The runner (runner.py) builds it from what the child reported, the parent's own judgement on
fresh inputs and the sandbox's record of writes; the check service (service.py) adds the blame of
an earlier kata and the first-pass flag with dataclasses.replace. Nothing edits a verdict after
that: the terminal, the JSON and the JUnit outputs only read it, the tests through
`shown_tests`, the one place that says how the fresh-input line reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    """A check's status (a str, so JSON and comparisons with "pass" read it as before)."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the check could not run the learner's code to the end
    TIMEOUT = "timeout"
    LOCKED = "locked"  # not checked: an earlier kata has not passed

    def __str__(self) -> str:
        return self.value


class FreshJudgement(str, Enum):
    """The parent's own judgement of the learner's outputs on inputs made up for this check,
    made only when every hidden test passed (see fresh.py)."""

    NOT_JUDGED = "not judged"
    AGREED = "agreed"
    DISAGREED = "disagreed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CheckResult:
    kata: int
    slug: str
    status: Status
    message: str | None = None
    tests: list[dict] = field(default_factory=list)  # the child's, judged: shown_tests for people
    duration_s: float = 0.0
    sha256: str | None = None
    blame: str | None = None  # an earlier kata this one runs that fails now: fix that first
    compile_s: float = 0.0  # MAX compiling kernels for this machine: not counted in the limit
    fresh_judgement: FreshJudgement = FreshJudgement.NOT_JUDGED
    # How close an agreed judgement came to failing: its worst |got - want| / tolerance (under
    # 1); None when not judged, disagreed, or judged without tolerances (exact, statistical).
    fresh_margin: float | None = None
    first_pass: bool = False  # this check recorded the kata's first pass (service.py)

    @property
    def passed(self) -> bool:
        return self.status == Status.PASS

    @property
    def shown_tests(self) -> list[dict]:
        """The tests as the terminal, the JSON and JUnit show them (the fresh-input line named for
        the parent's judgement)."""
        return shown_tests(self.tests, self.fresh_judgement)


# The fresh-input line. In the child, the test that runs the learner's code on the fresh inputs
# only saves what comes back: its passing means nothing by itself. What counts is the parent's
# judgement of those outputs, made only when every other test passed. So the line is named for
# that judgement, ticked only when it was made and agreed, and says "not judged" otherwise:
# never a tick beside failing tests.
CHILD_TEST = "test_fresh_inputs"  # checker/course/check_fresh_inputs.py
FRESH_LINE = "test_on_inputs_made_up_for_this_check"
NOT_JUDGED = ("Not judged: fix the failures above first. Your code's outputs on these inputs are "
              "compared only once every other test passes.")


def shown_tests(tests: list[dict], judgement: FreshJudgement) -> list[dict]:
    """The child's tests, with the fresh-input test shown as the parent's judgement."""
    return [_judged(test, judgement) if test.get("name") == CHILD_TEST else test for test in tests]


def _judged(test: dict, judgement: FreshJudgement) -> dict:
    shown = dict(test, name=FRESH_LINE)
    if judgement != FreshJudgement.NOT_JUDGED:
        return shown  # the runner set its status (and, on a disagreement, why)
    if test.get("status") in ("fail", "error"):
        return shown  # the learner's code failed on these inputs: a failure to fix like any other
    return dict(shown, status="skip", message=NOT_JUDGED)
