"""A learner who fills in the skeletons with the reference solutions, in order, gets a pass for
every released kata, each unlocking the next released one: kata 12 shows the text their own GPT-2
wrote and says what its words are worth; kata 18 shows their own Llama answering with SmolLM2's
weights; Part 3's released katas follow."""

import json

from checker.errors import EXIT_PASS
from checker.curriculum import load_curriculum
from conftest import AVAILABLE, KATAS, RELEASED, REPO, assert_no_traceback, place_solution, run_kata_cli


def _check_next(course, number: int) -> str:
    place_solution(course, number)
    code, out, err = run_kata_cli(course, "check", timeout=900)  # no N: the current kata
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, f"kata {number}:\n{out}\n{err}"
    assert f"Kata {number}:" in out
    later = [n for n in RELEASED if n > number]
    if later:  # the next released kata opens, even past one that is not released yet
        assert f"Kata {later[0]} unlocked" in out, out
    return out


def test_the_whole_course_in_order(course):
    for number in range(1, 13):
        out = _check_next(course, number)
    assert "Your GPT-2 wrote: 'Hello world" in out, out
    assert "Your GPT-2 is complete" in out and "Part 2" in out
    assert "weights are random numbers" in out and "kata run --fixtures" in out  # not the payoff
    code, out, _ = run_kata_cli(course, "list")
    assert f"12/{KATAS}" in out

    chat = load_curriculum(REPO).for_command("chat").number  # the end of Part 2
    for number in range(13, chat + 1):  # Part 2: a modern LLM, ending with a real model
        out = _check_next(course, number)
    assert "answers 'What is the capital of France?': 'The capital of France is Paris.'" in out, out
    assert "kata chat" in out

    for number in [n for n in RELEASED if n > chat]:  # Part 3, as far as it is released
        out = _check_next(course, number)
        if number == 20:
            assert "`kata chat` now draws each token with your own sample_next_token" in out, out
    if RELEASED[-1] == KATAS:
        assert "That was the last kata" in out, out
    progress = json.loads((course / ".kata" / "progress.json").read_text())
    assert all(progress["katas"][str(n)]["status"] == "pass" for n in RELEASED)
    code, out, _ = run_kata_cli(course, "list")
    assert f"{AVAILABLE}/{KATAS}" in out
