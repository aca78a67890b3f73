"""`kata chat --speculative`: refused until the speculative decoding kata (curriculum.yaml's
`provides: speculative`) passes, refused with sampling (it decodes greedily), and, once it passes,
the learner's speculative_generate answers with the same tokens as plain greedy decoding and
says its acceptance rate."""

from __future__ import annotations

import re

from checker.curriculum import load_curriculum
from checker.errors import EXIT_LOCKED, EXIT_PASS, EXIT_SETUP
from checker.paths import state_dir
from checker.progress import ProgressStore, record_attempt
from conftest import assert_no_traceback, place_solution, run_kata_cli
from test_chat import QUESTION, _offline, _passed

ACCEPTANCE = r"speculative: \d+ of \d+ drafted tokens accepted \((\d+%|none drafted)\); \d+ forwards for \d+ tokens"


def _speculative_kata(course):
    return load_curriculum(course).provider("speculative")


def test_speculative_waits_for_its_kata(course, tmp_path, monkeypatch):
    _offline(course, tmp_path, monkeypatch)  # refused before the model file is looked for
    kata = _speculative_kata(course)
    _passed(course, range(1, kata.number))
    code, out, err = run_kata_cli(course, "chat", "--speculative", "prompt-lookup", QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_LOCKED, out + err
    assert f"kata {kata.number}" in err and f"kata check {kata.number}" in err, err


def test_speculative_refuses_sampling(course, tmp_path, monkeypatch):
    _offline(course, tmp_path, monkeypatch)
    kata = _speculative_kata(course)
    _passed(course, range(1, kata.number + 1))
    code, out, err = run_kata_cli(course, "chat", "--speculative", "early-exit", "--temperature", "0.7",
                                  QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_SETUP and "decodes greedily" in err, out + err


def test_speculative_chat_answers_as_plain_greedy(course):
    """The reference katas, passed: the same answer as without --speculative (Hugging Face's), and
    the acceptance line. Compiles SmolLM2 with every position's logits (minutes, once a machine)."""
    kata = _speculative_kata(course)
    for number in range(1, kata.number + 1):
        place_solution(course, number)
    with ProgressStore(state_dir(course)).update() as progress:
        for number in range(1, kata.number + 1):
            record_attempt(progress, number, "pass", None)
    code, out, err = run_kata_cli(course, "chat", QUESTION, "--max-tokens", "12", "--speculative",
                                  "prompt-lookup", timeout=1800)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "The capital of France is Paris." in out, out + err
    assert re.search(ACCEPTANCE, err), err
    assert f"{kata.number} (speculative decoding, prompt-lookup)" in err, err
