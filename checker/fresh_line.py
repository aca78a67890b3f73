"""The check's line for inputs made up for this check, as people and CI read it.

In the child, the test that runs the learner's code on the fresh inputs only saves what comes
back: its passing means nothing by itself. What counts is the parent's judgement of those
outputs (runner.CheckResult.fresh_judgement), made only when every other test passed. So the
line is named for that judgement, ticked only when it was made and agreed, and says "not
judged" otherwise: never a tick beside failing tests. Terminal, JSON and JUnit all read it here.
"""

from __future__ import annotations

CHILD_TEST = "test_fresh_inputs"  # checker/course/check_fresh_inputs.py
NAME = "test_on_inputs_made_up_for_this_check"
NOT_JUDGED = ("Not judged: fix the failures above first. Your code's outputs on these inputs are "
              "compared only once every other test passes.")


def shown_tests(result) -> list[dict]:
    """result.tests, with the fresh-input test shown as the parent's judgement."""
    return [_judged(test, result.fresh_judgement) if test.get("name") == CHILD_TEST else test
            for test in result.tests]


def _judged(test: dict, judgement: str) -> dict:
    shown = dict(test, name=NAME)
    if judgement in ("agreed", "disagreed"):
        return shown  # the runner set its status (and, on a disagreement, why)
    if test.get("status") in ("fail", "error"):
        return shown  # the learner's code failed on these inputs: a failure to fix like any other
    return dict(shown, status="skip", message=NOT_JUDGED)
