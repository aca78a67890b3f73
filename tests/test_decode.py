"""checker/play/decode.py on the course's tiny Llama: the learner's model and KV cache compiled as one
graph give Hugging Face's greedy tokens; a cache that cannot be traced with symbolic lengths
still gives them, on the slower path, and says so once; the learner's own error reaches them.

The learner's code runs in a child process, as `kata chat` runs it (MAX is not imported here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import REPO, assert_no_traceback, mutate, place_learner, place_solution

PROMPT = [504, 3575, 282, 4649, 314, 7042, 30, 2, 198, 1, 9690, 198]  # SmolLM2's vocabulary
NEW = 10

CHILD = textwrap.dedent("""
    from checker.child import sigint
    sigint.install()
    import json, os, sys
    import numpy as np
    from max.driver import CPU
    from max.dtype import DType
    from max.experimental.tensor import default_device, default_dtype
    from checker.play.decode import Cached
    from checker.child.staging import lazily, to_tensor
    from checker.curriculum import load_curriculum
    from pathlib import Path
    import importlib

    course = Path(os.environ["KATA_ROOT"])
    kata = load_curriculum(course).provider("cache")
    katas = importlib.import_module(kata.module)
    fixtures = course / "fixtures"
    config = katas.LlamaConfig(**json.loads((fixtures / "llama_config.json").read_text()))
    state = dict(np.load(fixtures / "llama_weights.npz"))
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    with default_device(CPU()), default_dtype(DType.float32):
        model = lazily(lambda: katas.CachedLlamaForCausalLM(config))
        model.load_state_dict({k: to_tensor(v) for k, v in state.items()})
    said = []
    from checker.child.learner_import import describe_exception
    paths = {str(p.resolve()) for p in (course / "katas").glob("*.py")}
    decoder = Cached(model, katas.KVCache, config, say=said.append,  # as kata chat words a fallback
                     describe=lambda exc: describe_exception(exc, paths, course))
    ids, tokens = json.loads(sys.argv[1]), []
    try:
        for _ in range(int(sys.argv[2])):
            tokens.append(int(np.argmax(decoder.next_logits(ids + tokens))))
        again = int(np.argmax(decoder.next_logits(ids)))  # a new conversation: a fresh cache
    except Exception as exc:  # what `kata chat` shows the learner
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "said": said}))
        sys.exit(0)
    kept = None
    if len(sys.argv) > 3:  # the compiled step kept as kata chat keeps it, loaded, run again
        from checker.play.weights_cache import GraphCache, Key, learner_files
        graphs, key = GraphCache(Path(sys.argv[3])), Key("0" * 64)
        files = learner_files(course / "katas")
        graphs.store(key, files, "with a KV cache", decoder.step, state)
        entry, _ = graphs.find(key, course / "katas", "with a KV cache")
        loaded = Cached(None, katas.KVCache, config, build=lambda: 1 / 0,
                        step=graphs.open(entry, state))
        kept = []
        for _ in range(int(sys.argv[2])):
            kept.append(int(np.argmax(loaded.next_logits(ids + kept))))
    print(json.dumps({"tokens": tokens, "again": again, "path": decoder.path, "said": said,
                      "kept": kept}))
""")


NO_CACHE_CHILD = textwrap.dedent("""
    from checker.child import sigint
    sigint.install()
    import json, os, sys
    import numpy as np
    from checker.play.decode import NoCache, with_weights
    from checker.curriculum import load_curriculum
    from pathlib import Path
    import importlib

    course = Path(os.environ["KATA_ROOT"])
    chat = load_curriculum(course).for_command("chat")
    katas = importlib.import_module(load_curriculum(course).get(chat.uses[-1]).module)
    fixtures = course / "fixtures"
    config = katas.LlamaConfig(**json.loads((fixtures / "llama_config.json").read_text()))
    state = dict(np.load(fixtures / "llama_weights.npz"))
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    said = []
    decoder = NoCache(with_weights(katas.LlamaForCausalLM, config, state), say=said.append)
    ids, tokens = json.loads(sys.argv[1]), []
    for _ in range(int(sys.argv[2])):
        tokens.append(int(np.argmax(decoder.next_logits(ids + tokens))))
    print(json.dumps({"tokens": tokens, "path": decoder.path, "said": said}))
""")


def _decode(course, ids=PROMPT, new=NEW, child=CHILD, *more: str) -> tuple[dict | None, str]:
    env = dict(os.environ, KATA_ROOT=str(course), PYTHONPATH=str(course),
               MAX_EAGER_EXECUTOR="interpreter")
    done = subprocess.run([sys.executable, "-c", child, json.dumps(ids), str(new), *more], cwd=course,
                          env=env, capture_output=True, text=True, timeout=1200)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if done.returncode == 0 and lines else None), done.stdout + done.stderr


@pytest.fixture(scope="module")
def hf_tokens() -> list[int]:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from checker.models.llama_golden import TINY

    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**TINY)).eval()
    state = {k: torch.from_numpy(v) for k, v in np.load(REPO / "fixtures" / "llama_weights.npz").items()}
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict(state)
    with torch.no_grad():
        out = model.generate(torch.tensor([PROMPT]), max_new_tokens=NEW, min_new_tokens=NEW,
                             do_sample=False)
    return out[0, len(PROMPT):].tolist()


def _solved(course, upto: int = 19) -> None:
    for number in range(1, upto + 1):
        place_solution(course, number)


def test_the_reference_cache_runs_compiled_with_hf_tokens(course, hf_tokens):
    _solved(course)
    result, output = _decode(course)
    assert result is not None, output
    assert result["path"] == "compiled", output
    assert result["tokens"] == hf_tokens, output
    assert result["again"] == hf_tokens[0], output
    assert not any("could not run" in s for s in result["said"]), output


def test_a_kept_compiled_step_gives_the_same_tokens(course, tmp_path, hf_tokens):
    """kata chat's GraphCache: the compiled step exported (.mef), loaded in place of building,
    tracing and compiling the learner's model (which is never built: build raises), its weights
    bound to the kept arrays by name: Hugging Face's tokens again."""
    _solved(course)
    result, output = _decode(course, PROMPT, NEW, CHILD, str(tmp_path / "kept"))
    assert result is not None and result["path"] == "compiled", output
    assert result["kept"] == result["tokens"] == hf_tokens, output


def test_a_cache_that_needs_int_lengths_falls_back_with_the_same_tokens(course, tmp_path, hf_tokens):
    _solved(course)
    mutant = mutate(19, [("return int(length) if isinstance(length, StaticDim) else length",
                          "return int(length)")], tmp_path)
    place_learner(course, mutant, 19)
    result, output = _decode(course, new=4)
    assert result is not None, output
    assert result["path"] == "staged", output
    assert result["tokens"] == hf_tokens[:4], output
    fallbacks = [s for s in result["said"] if "could not run as one compiled graph" in s]
    assert len(fallbacks) == 1 and "int(" in fallbacks[0], result["said"]


def test_the_learners_own_error_reaches_them(course, tmp_path):
    _solved(course)
    mutant = mutate(19, [("k, v = cache.update(k, v, layer_idx)",
                          "k, v = cache.update(k, v, layer_idx)\n            raise ValueError('my bug')")],
                    tmp_path)
    place_learner(course, mutant, 19)
    result, output = _decode(course, new=1)
    assert result is not None, output
    assert result["error"] == "ValueError: my bug", output  # theirs, not wrapped in ours
    assert_no_traceback(output)


# The two other rows of kata 19's table of spellings that do not compile (katas/step_19.md): katas
# 2 and 14 written the way their lessons no longer teach. Chat must still answer, on the staged
# path, and point at the learner's line.
OLD_SPELLINGS = {
    "band_part mask": (2, [("return F.where(future, blocked, Tensor(0.0, dtype=dtype, device=device))",
                            "return F.band_part(F.broadcast_to(blocked, shape=(sequence_length, total)),"
                            " num_lower=None, num_upper=num_tokens, exclude=True)")],
                       "step_02.py"),
    "arange plus start": (14, [("positions = F.range(start, start + seq_len, 1, out_dim=seq_len, dtype=DType.float32,\n"
                                "                        device=exponents.device)",
                                "positions = Tensor.arange(seq_len, dtype=DType.float32) + start")],
                          "step_14.py"),
}


@pytest.mark.parametrize("spelling", list(OLD_SPELLINGS))
def test_an_old_spelling_in_an_earlier_kata_falls_back_with_the_same_tokens(course, tmp_path, hf_tokens,
                                                                            spelling):
    number, replacements, file = OLD_SPELLINGS[spelling]
    _solved(course)
    place_learner(course, mutate(number, replacements, tmp_path), number)
    result, output = _decode(course, new=3)
    assert result is not None, output
    assert result["path"] == "staged", output
    assert result["tokens"] == hf_tokens[:3], output
    fallbacks = [s for s in result["said"] if "could not run as one compiled graph" in s]
    assert len(fallbacks) == 1 and f"at katas/{file}, line" in fallbacks[0], result["said"]


# --- without a KV cache (the chat between the model's katas and the cache's) ---------------

def test_the_model_without_a_cache_runs_compiled_per_length_with_hf_tokens(course, hf_tokens):
    """One graph per fixed length, the ids padded at the end: the model is causal, so the last
    real position's logits are the unpadded ones, and the tokens are Hugging Face's."""
    _solved(course)
    result, output = _decode(course, child=NO_CACHE_CHILD)
    assert result is not None, output
    assert result["path"] == "compiled per length", output
    assert result["tokens"] == hf_tokens, output
    assert not any("could not run" in s for s in result["said"]), output


def test_the_lengths_the_model_is_compiled_for():
    """NoCache's lengths: 64, then doubling; a sequence runs at the smallest that holds it."""
    from checker.play.decode import NoCache

    assert [NoCache.bucket(n) for n in (1, 63, 64, 65, 128, 129, 1000)] == [64, 64, 64, 128, 128, 256, 1024]
