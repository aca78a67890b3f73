"""`kata chat`: the learner's own Llama (katas 13-18) with SmolLM2's weights answers; before
kata 18 passes it says so; without the model file and without a network it says how to get it."""

from __future__ import annotations


from checker.curriculum import load_curriculum
from checker.errors import EXIT_LOCKED, EXIT_PASS, EXIT_SETUP
from checker.models.smollm2 import ensure_gguf
from checker.paths import state_dir
from checker.progress import ProgressStore, record_attempt
from conftest import AVAILABLE, assert_no_traceback, mutate, place_learner, place_solution, run_kata_cli

QUESTION = "What is the capital of France?"


def test_chat_waits_for_kata_18(course):
    code, out, err = run_kata_cli(course, "chat", QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_LOCKED, out + err
    assert "kata 18" in out + err and "kata check 18" in out + err and "--force" in out + err


def _offline(course, tmp_path, monkeypatch):
    """No model in the cache, and pip can reach no index: a laptop on a train."""
    monkeypatch.setenv("KATA_MODEL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nothing-here"))


def test_chat_offline_without_the_file(course, tmp_path, monkeypatch):
    _offline(course, tmp_path, monkeypatch)
    code, out, err = run_kata_cli(course, "chat", "--force", QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_SETUP, out + err
    assert "kata setup" in out + err and "--gguf" in out + err
    assert not any((tmp_path / "empty-cache").glob("*.gguf"))  # nothing half-written


def test_chat_refuses_a_damaged_file(course, tmp_path):
    damaged = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    with open(ensure_gguf(None, echo=lambda _: None), "rb") as real:
        damaged.write_bytes(real.read(5_000_000))  # a download cut short
    code, out, err = run_kata_cli(course, "chat", "--force", "--gguf", str(damaged), QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_SETUP, out + err
    assert "truncated" in out + err or "damaged" in out + err


def test_chat_answers_with_the_learners_own_model(course):
    for number in range(1, AVAILABLE + 1):
        place_solution(course, number)
    code, out, err = run_kata_cli(course, "chat", "--force", QUESTION, "--max-tokens", "12",
                                  timeout=900)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "The capital of France is Paris." in out, out + err
    assert "tokens/s" in err and "your katas up to kata 18" in err
    assert "on the fly" not in out + err  # MAX's own chatter stays out of the conversation


def _cache_kata_passed(course):
    """The reference katas up to the KV cache's in katas/, all recorded as passed."""
    curriculum = load_curriculum(course)
    base, cache = curriculum.for_command("chat"), curriculum.upgrades("chat")[-1]
    for number in range(1, cache.number + 1):
        place_solution(course, number)
    with ProgressStore(state_dir(course)).update() as progress:
        for number in range(1, cache.number + 1):
            record_attempt(progress, number, "pass", None)
    return base, cache


def test_chat_uses_the_learners_kv_cache_once_it_passes(course):
    """The reference katas up to the KV cache's, passed: chat runs the learner's model and cache
    as one compiled graph (checker/decode.py) and still answers as Hugging Face does."""
    base, cache = _cache_kata_passed(course)
    code, out, err = run_kata_cli(course, "chat", QUESTION, "--max-tokens", "12", timeout=1200)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "The capital of France is Paris." in out, out + err
    assert f"your katas up to kata {cache.number}, with your KV cache" in err, err
    assert "ready in" in err and "could not run as one compiled graph" not in err, err
    assert base.number != cache.number and "tokens/s" in err


def test_chat_runs_a_cache_that_cannot_compile_step_by_step(course, tmp_path):
    """A cache whose length is int() (no symbolic lengths): chat says once that it runs step by
    step, where in the learner's code compiling stopped, and answers all the same."""
    _, cache = _cache_kata_passed(course)
    mutant = mutate(cache.number, [("return self.keys[layer_idx].shape[2]",
                                    "return int(self.keys[layer_idx].shape[2])")], tmp_path)
    place_learner(course, mutant, cache.number)
    code, out, err = run_kata_cli(course, "chat", QUESTION, "--max-tokens", "2", timeout=1200)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "The capital" in out, out + err
    assert err.count("could not run as one compiled graph") == 1, err
    assert f"katas/step_{cache.number:02d}.py" in err and "int(" in err, err
