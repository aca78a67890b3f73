"""A learner who fills in the 12 skeletons with the reference solutions, in order, gets 12
passes, each unlocking the next, and kata 12 shows the text their own GPT-2 wrote."""

import json

from checker.errors import EXIT_PASS
from conftest import KATAS, assert_no_traceback, place_solution, run_kata_cli


def test_the_whole_course_in_order(course):
    for number in range(1, 13):
        place_solution(course, number)
        code, out, err = run_kata_cli(course, "check", timeout=900)  # no N: the current kata
        assert_no_traceback(out, err)
        assert code == EXIT_PASS, f"kata {number}:\n{out}\n{err}"
        assert f"Kata {number}:" in out
        if number < 12:
            assert f"Kata {number + 1} unlocked" in out, out
    assert "Your GPT-2 wrote: 'Hello world" in out, out
    assert "Your GPT-2 is complete" in out and "Part 2" in out
    assert "weights are random numbers" in out and "kata run --fixtures" in out  # not the payoff
    progress = json.loads((course / ".kata" / "progress.json").read_text())
    assert all(progress["katas"][str(n)]["status"] == "pass" for n in range(1, 13))
    code, out, _ = run_kata_cli(course, "list")
    assert f"12/{KATAS}" in out
