"""`kata chat --speculative`: refused until the speculative decoding kata (curriculum.yaml's
`provides: speculative`) passes, refused with sampling (it decodes greedily), and, once it passes,
the learner's speculative_generate answers with the same tokens as plain greedy decoding and
says its acceptance rate."""

from __future__ import annotations

import re
import textwrap

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


VERIFY_CHILD = textwrap.dedent("""
    from checker.child import sigint
    sigint.install()
    import json, os, sys, importlib
    from pathlib import Path
    import numpy as np
    from checker.play.decode import Verifier, with_weights
    from checker.play import speculative
    from checker.curriculum import load_curriculum
    course = Path(os.environ["KATA_ROOT"])
    curriculum = load_curriculum(course)
    cached = importlib.import_module(curriculum.provider("cache").module)
    spec = importlib.import_module(curriculum.provider("speculative").module)
    fixtures = course / "fixtures"
    config = cached.LlamaConfig(**json.loads((fixtures / "llama_config.json").read_text()))
    state = dict(np.load(fixtures / "llama_weights.npz"))
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    verifier = Verifier(with_weights(cached.CachedLlamaForCausalLM, config, state), spec.KVCache, config)
    prompt, new = json.loads(sys.argv[1]), int(sys.argv[2])
    draft = lambda ids: spec.prompt_lookup(ids, num_tokens=5, max_ngram_size=2)
    runs = [speculative.generate(spec, verifier, prompt, new, None, draft) for _ in range(2)]
    print(json.dumps({"runs": runs, "path": verifier.path, "note": speculative.acceptance_note(runs[0])}))
""")


def test_the_verifier_runs_the_learners_speculative_decoding_as_hugging_face(course):
    """decode.Verifier (their model and cache compiled, every position's logits) under their
    speculative_generate and prompt_lookup, through speculative.VerifiedModel: kata 23's golden
    prompt gives Hugging Face's greedy tokens and its prompt lookup's accepted counts, twice (a
    second run starts from a fresh cache of theirs: the compiled one is cropped to it)."""
    from checker import fixture_files
    from test_decode import _decode

    kata = _speculative_kata(course)
    for number in range(1, kata.number + 1):
        place_solution(course, number)
    g = fixture_files.load(course / "fixtures", "golden/step_23.npz")
    result, output = _decode(course, g["prompt_ids"].tolist(), len(g["greedy_ids"]), VERIFY_CHILD)
    assert result is not None, output
    assert result["path"] == "compiled", output
    for run in result["runs"]:
        assert run["tokens"] == g["greedy_ids"].tolist(), output
        assert run["accepted"] == g["lookup_accepted"].tolist(), output
        assert run["calls"] == len(g["lookup_accepted"]), output
    assert re.search(ACCEPTANCE, result["note"]), output
