"""`kata chat`: the learner's own Llama (katas 13-18) with SmolLM2's weights answers; before
kata 18 passes it says so; without the model file and without a network it says how to get it.
Once kata 20 passes, the learner's own sample_next_token chooses each token (--temperature,
--top-k, --top-p, --min-p, --repetition-penalty); before, those filters are refused, and
--temperature uses the checker's own sampler. Temperature 0 stays greedy."""

from __future__ import annotations

import importlib
import re
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

from checker.curriculum import load_curriculum
from checker.errors import EXIT_LOCKED, EXIT_PASS, EXIT_SETUP
from checker.models.smollm2 import ensure_gguf
from checker.paths import state_dir
from checker.progress import ProgressStore, record_attempt
from conftest import RELEASED, assert_no_traceback, mutate, place_learner, place_solution, run_kata_cli

QUESTION = "What is the capital of France?"
SPEED = r"\(\d+ tokens? in [\d.]+ s, [\d.]+ (tokens/s|s/token)\)"  # chat_child.answer_note's line
SAMPLER = 20  # the kata whose sample_next_token chat uses (curriculum.yaml: provides: sampler)


def _passed(course, numbers) -> None:
    """progress.json saying these katas passed, as `kata check` records it."""
    with ProgressStore(course / ".kata").update() as progress:
        for number in numbers:
            record_attempt(progress, number, "pass", "0" * 64)


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
    """Greedy at temperature 0, even once the sampler kata passes: its code is not called."""
    for number in RELEASED:
        place_solution(course, number)
    (course / "katas" / f"step_{SAMPLER}.py").write_text(
        "def sample_next_token(*args, **kwargs):\n    raise RuntimeError('called when greedy')\n")
    _passed(course, [SAMPLER])
    code, out, err = run_kata_cli(course, "chat", "--force", QUESTION, "--max-tokens", "12",
                                  timeout=900)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "The capital of France is Paris." in out, out + err
    assert re.search(SPEED, err) and "your katas 2, 13-18 (model), with" in err, err
    assert "Greedy" in err and f"{SAMPLER} (sampling)" not in err
    assert "on the fly" not in out + err  # MAX's own chatter stays out of the conversation


def test_a_second_chat_reuses_what_load_gguf_returned(course, tmp_path, monkeypatch):
    """The first chat reads the file with the learner's load_gguf and keeps the result, and the
    compiled model; the second maps the one and loads the other (each said in one line); an
    edit to a learner file load_gguf imports, or a damaged kept copy, reads the file again. No
    traceback anywhere."""
    kept = tmp_path / "kept"  # its own: nothing kept yet
    monkeypatch.setenv("KATA_WEIGHTS_CACHE", str(kept))
    curriculum = load_curriculum(course)
    base = curriculum.for_command("chat")
    for number in RELEASED:
        place_solution(course, number)
    _passed(course, range(1, base.number + 1))  # not the KV cache's kata: the uncached path

    def chat():
        code, out, err = run_kata_cli(course, "chat", QUESTION, "--max-tokens", "2", timeout=900)
        assert_no_traceback(out, err)
        assert code == EXIT_PASS and "The capital" in out, out + err
        return err

    read = "with your load_gguf"
    err = chat()
    assert read in err and "kept from an earlier chat" not in err, err
    assert "No KV cache yet" in err and f"Kata {curriculum.provider('cache').number} (" in err, err
    err = chat()
    assert "kept from an earlier chat" in err and read not in err, err
    assert "your compiled model, without a cache, 64 tokens, kept from an earlier chat" in err, err
    imported = course / "katas" / "step_13.py"  # config_from_gguf's LlamaConfig: load_gguf imports it
    imported.write_text(imported.read_text() + "\n# an edit\n")
    err = chat()
    assert read in err and "kept from an earlier chat" not in err, err
    entry = max(kept.glob("weights-*"), key=lambda p: p.stat().st_mtime)
    array = next(entry.glob("*.npy"))
    array.write_bytes(array.read_bytes()[:1000])  # truncated
    err = chat()
    assert "damaged" in err and read in err, err


# --- the learner's sampler ------------------------------------------------------------------

FILTERS = [("--top-k", "50"), ("--top-p", "0.9"), ("--min-p", "0.05"),
           ("--repetition-penalty", "1.3")]


@pytest.mark.parametrize("flag,value", FILTERS, ids=[f[0] for f in FILTERS])
def test_sampler_flags_wait_for_the_sampler_kata(course, tmp_path, monkeypatch, flag, value):
    _offline(course, tmp_path, monkeypatch)  # refused before the model file is even looked for
    _passed(course, range(1, 19))
    code, out, err = run_kata_cli(course, "chat", "--temperature", "0.7", flag, value, QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_LOCKED, out + err
    assert flag in err and f"kata {SAMPLER}" in err and f"kata check {SAMPLER}" in err
    assert "--temperature works now" in err


def test_temperature_alone_uses_the_built_in_sampler_before_the_kata(course, tmp_path, monkeypatch):
    """Not refused: it gets as far as looking for the model file (absent here)."""
    _offline(course, tmp_path, monkeypatch)
    _passed(course, range(1, 19))
    code, out, err = run_kata_cli(course, "chat", "--temperature", "0.7", QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_SETUP and "kata setup" in out + err, out + err


@pytest.mark.parametrize("flag,value", [("--top-k", "0"), ("--top-p", "0"), ("--top-p", "1.5"),
                                        ("--min-p", "-0.1"), ("--repetition-penalty", "0")])
def test_sampler_flags_out_of_range(course, flag, value):
    code, out, err = run_kata_cli(course, "chat", flag, value, QUESTION)
    assert_no_traceback(out, err)
    assert code == EXIT_SETUP and flag in err, out + err  # click's usage error: 2


FIXED = 21285  # " banana" in SmolLM2's vocabulary
FIXED_SAMPLER = f"""
import numpy as np
from max.experimental.tensor import Tensor

def sample_next_token(logits, input_ids=None, **settings):
    # what kata chat must hand over: the settings asked for, and the conversation so far
    expected = {{"temperature": 0.8, "top_k": 5, "min_p": 0.05, "repetition_penalty": 1.3}}
    if settings != expected or input_ids is None or tuple(input_ids.shape)[0] != 1:
        raise ValueError(f"unexpected call: {{settings}}, {{input_ids}}")
    return Tensor(np.full([int(logits.shape[0])], {FIXED}, dtype=np.int64), device=logits.device)
"""


def test_chat_draws_with_the_learners_sampler(course):
    """A learner's sampler that always draws " banana": chat says banana, whatever the model
    would have said, and names the kata it runs."""
    for number in RELEASED:
        place_solution(course, number)
    (course / "katas" / f"step_{SAMPLER}.py").write_text(textwrap.dedent(FIXED_SAMPLER))
    _passed(course, [*range(1, 19), SAMPLER])
    code, out, err = run_kata_cli(course, "chat", QUESTION, "--max-tokens", "3", "--temperature",
                                  "0.8", "--top-k", "5", "--min-p", "0.05",
                                  "--repetition-penalty", "1.3", timeout=900)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "banana banana banana" in out, out + err
    assert f"your katas 2, 13-18 (model), {SAMPLER} (sampling), with" in err, err


def test_the_katas_chat_runs_are_said_as_spans():
    from checker.play.chat_setup import spans

    assert spans([2, 13, 14, 15, 16, 17, 18]) == "2, 13-18"
    assert spans([20]) == "20" and spans([3, 1, 2, 5]) == "1-3, 5"


# In-process: the token chooser itself (checker.play.chat_child.token_chooser), with the reference sampler.

def _chooser(temperature, sampler=None, **settings):
    from checker.play.chat_child import token_chooser

    return token_chooser(temperature, np.random.default_rng(0), sampler, settings)


def _reference_sampler():
    return importlib.import_module(f"checker.course.kata{SAMPLER}_sampling.solution")


LOGITS = np.array([2.0, 1.9, -1.0, 0.5], dtype=np.float32)
IDS = np.array([[0, 3, 0]], dtype=np.int64)


def test_greedy_at_temperature_zero_never_calls_the_sampler():
    def boom(*args, **kwargs):
        raise AssertionError("the sampler was called at temperature 0")

    sampler = SimpleNamespace(sample_next_token=boom, apply_repetition_penalty=boom)
    assert _chooser(0.0, sampler, top_k=2, top_p=0.5)(LOGITS, IDS) == 0
    assert _chooser(0.0)(LOGITS, IDS) == 0


def test_greedy_applies_the_learners_repetition_penalty():
    """generate() applies the penalty when greedy too: 2.0 / 1.3 = 1.54 < 1.9."""
    assert _chooser(0.0, _reference_sampler(), repetition_penalty=1.3)(LOGITS, IDS) == 1


def test_the_learners_sampler_draws_with_the_settings():
    choose = _chooser(1.0, _reference_sampler(), top_k=1)
    assert {choose(LOGITS, IDS) for _ in range(5)} == {0}
    choose = _chooser(1.0, _reference_sampler(), top_k=1, repetition_penalty=100.0)
    assert {choose(LOGITS, IDS) for _ in range(5)} == {1}  # token 0 penalised: 2.0 / 100 < 1.9


@pytest.mark.parametrize("drawn", [np.array([1, 2]), np.array([4]), np.array([0.5]), None])
def test_a_learners_sampler_returning_no_token_id_is_one_clear_error(drawn):
    sampler = SimpleNamespace(sample_next_token=lambda *args, **kwargs: drawn)
    with pytest.raises(ValueError, match="expected one token id, an integer from 0 to 3"):
        _chooser(0.7, sampler)(LOGITS, IDS)


@pytest.mark.parametrize("tokens,seconds,max_tokens,ended,line", [
    (8, 0.4, 64, True, "(8 tokens in 0.4 s, 20.0 tokens/s)"),
    (1, 0.5, 64, True, "(1 token in 0.5 s, 2.0 tokens/s)"),
    (3, 29.6, 64, True, "(3 tokens in 29.6 s, 9.9 s/token)"),  # never "0.1 tokens/s" or "0.0"
    (1, 41.0, 64, True, "(1 token in 41.0 s, 41.0 s/token)"),
    (0, 0.2, 64, True, "(0 tokens in 0.2 s)"),  # the model ended its turn at once
    (64, 3.2, 64, False, "(64 tokens in 3.2 s, 20.0 tokens/s; stopped at 64 tokens: "
                         "`kata chat --max-tokens 256` for longer answers)"),
    (12, 60.0, 12, False, "(12 tokens in 60.0 s, 5.0 s/token; stopped at 12 tokens: "
                          "`kata chat --max-tokens 256` for longer answers)"),
    (300, 10.0, 300, False, "(300 tokens in 10.0 s, 30.0 tokens/s; stopped at 300 tokens: "
                            "`kata chat --max-tokens 1024` for longer answers)"),
    (1024, 40.0, 1024, False, "(1024 tokens in 40.0 s, 25.6 tokens/s; stopped at 1024 tokens: "
                              "1024 is the most `kata chat` gives)"),
])
def test_the_line_after_an_answer(tokens, seconds, max_tokens, ended, line):
    """Counted in words (1 token), a slow model's speed in s/token rather than "0.0 tokens/s",
    and an answer cut at --max-tokens says so and how to ask for more."""
    from checker.play.chat_child import answer_note

    assert answer_note(tokens, seconds, max_tokens, ended) == line


def test_most_tokens_is_the_commands_bound():
    from checker.cli.play import chat_command
    from checker.play.chat_child import MOST_TOKENS

    option = next(p for p in chat_command.params if p.name == "max_tokens")
    assert option.type.max == MOST_TOKENS and option.default == 64


def test_reply_says_whether_the_model_ended_its_answer(capsys):
    """reply() tells an answer the model ended (its end-of-turn token) from one cut at max_tokens."""
    from checker.play.chat_child import reply

    class Tokenizer:
        eos_token_id = 9

        def apply_chat_template(self, messages, add_generation_prompt=True):
            return "q"

        def encode(self, text):
            return [1]

        def decode(self, ids, skip_special_tokens=False):
            return "".join(chr(ord("a") + i) for i in ids)

    class Model:
        def __init__(self, tokens):
            self.tokens = iter(tokens)

        def next_logits(self, ids):
            return np.eye(10, dtype=np.float32)[next(self.tokens)]

    greedy = _chooser(0.0)
    text, tokens, _, ended = reply(Model([0, 1, 9]), Tokenizer(), [], 64, greedy)
    assert (text, tokens, ended) == ("ab", 2, True)
    text, tokens, _, ended = reply(Model([0, 1, 2, 3]), Tokenizer(), [], 3, greedy)
    assert (text, tokens, ended) == ("abc", 3, False)
    capsys.readouterr()


def _cache_kata_passed(course):
    """The reference katas up to the KV cache's in katas/, all recorded as passed."""
    curriculum = load_curriculum(course)
    base, cache = curriculum.for_command("chat"), curriculum.provider("cache")
    for number in range(1, cache.number + 1):
        place_solution(course, number)
    with ProgressStore(state_dir(course)).update() as progress:
        for number in range(1, cache.number + 1):
            record_attempt(progress, number, "pass", None)
    return base, cache


def test_chat_uses_the_learners_kv_cache_once_it_passes(course):
    """The reference katas up to the KV cache's, passed: chat runs the learner's model and cache
    as one compiled graph (checker/play/decode.py) and still answers as Hugging Face does."""
    base, cache = _cache_kata_passed(course)
    code, out, err = run_kata_cli(course, "chat", QUESTION, "--max-tokens", "12", timeout=1200)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "The capital of France is Paris." in out, out + err
    assert f"{cache.number} (KV cache)" in err and "No KV cache yet" not in err, err
    assert "ready in" in err and "could not run as one compiled graph" not in err, err
    assert base.number != cache.number and re.search(SPEED, err), err


def test_chat_runs_a_cache_that_cannot_compile_step_by_step(course, tmp_path):
    """A cache whose length is int() (no symbolic lengths): chat says once that it runs step by
    step, where in the learner's code compiling stopped, and answers all the same."""
    _, cache = _cache_kata_passed(course)
    mutant = mutate(cache.number, [("return int(length) if isinstance(length, StaticDim) else length",
                                    "return int(length)")], tmp_path)
    place_learner(course, mutant, cache.number)
    code, out, err = run_kata_cli(course, "chat", QUESTION, "--max-tokens", "2", timeout=1200)
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert "The capital" in out, out + err
    assert err.count("could not run as one compiled graph") == 1, err
    assert f"katas/step_{cache.number:02d}.py" in err and "int(" in err, err


def test_the_banner_says_the_speed_to_expect_and_what_fixes_it():
    """Before the KV cache kata passes, chat says up front how fast it will be and which kata makes
    it fast; after, it says nothing of the kind."""
    from checker.play.chat_setup import SPEED_WITH_CACHE, SPEED_WITHOUT_CACHE, banner
    from conftest import REPO

    curriculum = load_curriculum(REPO)
    kata, cache = curriculum.for_command("chat"), curriculum.provider("cache")
    before = banner(curriculum, kata, None, 0.0, {}, "m.gguf")
    assert SPEED_WITHOUT_CACHE in before and SPEED_WITH_CACHE in before
    assert f"Kata {cache.number} ({cache.title}) fixes that" in before
    after = banner(curriculum, kata, None, 0.0, {}, "m.gguf", cache)
    assert "No KV cache" not in after and SPEED_WITHOUT_CACHE not in after
