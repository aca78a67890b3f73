"""Kata 19's numpy side. The cached numpy Llama (checker/models/llama.py, cached_logits) is
Hugging Face's LlamaForCausalLM with its own DynamicCache, call by call, on the golden run (built
here from the seeded tiny model, as `kata dev fixtures` builds it); each named mistake lands far
from the right answer at the calls where the lesson says it shows (margins printed with -s); and
the parent's judgement of fresh inputs (the kata's spec.py) takes right answers and refuses wrong
ones. No MAX here."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from checker.check import fresh
from checker.curriculum import load_curriculum
from checker.models import llama as L
from checker.models import llama_data
from conftest import REPO

TOL, RTOL = 1e-5, 1e-6  # float64 numpy against Hugging Face's float32 (logits up to ~20)
MARGIN = 100 * 1e-3  # every named mistake lands this far beyond the check's tolerance
FIXTURES = REPO / "fixtures"
KATA = load_curriculum(REPO).get(19)
SPEC = fresh.spec_of(KATA)
GOLDEN = importlib.import_module(KATA.package + ".golden")

# flag -> the calls (0: prefill, 1-4: one token each, 5: the chunk, 6: one more) where it must
# show; None where the code that commits it raises (kata 19's tests say so by the exception)
SHOWS = {
    "cache_positions_restart": {1, 2, 3, 4, 5, 6},  # RoPE is relative: the prefill is right
    "cache_mask_no_offset": {1, 2, 3, 4, 5, 6},
    "cache_mask_missing": {5, 6},  # one new token needs no mask: the chunk shows it (and the
                                   # layer-1 keys it cached, the call after)
    "cache_not_appended": {2, 3, 4, 5, 6},  # call 1 sees the prompt and itself: right
    "cache_raw_keys": {1, 2, 3, 4},  # and raises at the chunk: (4, 16) tables, 21 keys
    "cache_values_rotated": {0, 1, 2, 3, 4, 5, 6},
    "cache_shared_layers": {0, 1, 2, 3, 4, 5, 6},
    "cache_start_from_layer0": {1, 2, 3, 4, 5, 6},
}


@pytest.fixture(scope="module")
def golden():
    pytest.importorskip("torch", reason="golden data needs the maintainer extra")
    pytest.importorskip("transformers", reason="golden data needs the maintainer extra")
    from checker.models import llama_golden

    model, tok = llama_golden.tiny_model(), llama_golden.tokenizer()
    return GOLDEN.golden_kv_cache(model, tok)["npz"]


@pytest.fixture(scope="module")
def fx():
    return llama_data.Fixtures(FIXTURES)


def _calls(g) -> list[np.ndarray]:
    bounds = np.cumsum(g["calls"])
    return [g["ids"][:, a:b] for a, b in zip([0, *bounds[:-1]], bounds)]


def _rows(logits: list) -> np.ndarray:
    return np.concatenate(logits, axis=1)[0]


def test_the_run_is_what_the_lesson_says(golden):
    calls = [c.shape[1] for c in _calls(golden)]
    assert calls == [13, 1, 1, 1, 1, 4, 1]
    assert golden["keys"].shape == golden["values"].shape == (2, 1, 2, 22, 16)
    assert golden["greedy_prompt"].shape == (1, 10) and golden["greedy_ids"].shape == (16,)
    top = golden["greedy_top_logits"]
    assert (top[:, 0] - top[:, 1]).min() > 1e-2  # no step's argmax is a float32 coin toss


def test_cached_numpy_llama_is_hugging_faces(golden, fx):
    logits = _rows(L.cached_logits(_calls(golden), fx.weights, fx.config))
    ours = np.take_along_axis(logits, golden["top_ids"], -1)
    for name, theirs in (("cached run", golden["top_logits"]), ("uncached", golden["uncached_top_logits"])):
        diff = np.abs(ours - theirs) - RTOL * np.abs(theirs)
        print(f"  top-20 logits vs Hugging Face's {name}: {np.abs(ours - theirs).max():.2e}")
        assert diff.max() <= TOL, name
    assert np.abs(logits[-1] - golden["last_logits"]).max() <= TOL + RTOL * 20
    whole = L.logits(golden["ids"], fx.weights, fx.config)[0]
    assert np.abs(logits - whole).max() < 1e-9  # a cache changes no number


def test_cached_keys_and_values_are_hugging_faces(golden, fx):
    """What the numpy cache holds after the run: keys after RoPE, values as projected."""
    store: dict = {}
    calls = _calls(golden)
    for ids in calls:  # the same walk as cached_logits, keeping the store
        x = fx.weights["model.embed_tokens.weight"][ids]
        for i in range(fx.config.num_hidden_layers):
            p = f"model.layers.{i}."
            n1 = L.rms_norm(x, fx.weights[p + "input_layernorm.weight"], fx.config.rms_norm_eps)
            h = x + L._cached_attention(n1, fx.weights, p + "self_attn.", fx.config, store, i, {})
            n2 = L.rms_norm(h, fx.weights[p + "post_attention_layernorm.weight"], fx.config.rms_norm_eps)
            x = h + L.mlp(n2, fx.weights, p + "mlp.")
    for i in range(fx.config.num_hidden_layers):
        assert np.abs(store[i][0] - golden["keys"][i]).max() <= TOL
        assert np.abs(store[i][1] - golden["values"][i]).max() <= TOL


def test_a_cache_filled_with_hugging_faces_keys_continues_it(golden, fx):
    """Kata 19's cache-content lines: the numpy Llama continuing Hugging Face's cache after the
    prompt gives Hugging Face's next logits; the same keys rotated once more by their positions
    (a model that rotates what it reads) land far off; Hugging Face's keys rotated back are the
    keys before RoPE (k_proj's, split into heads); repeated heads are another shape."""
    cfg, prompt = fx.config, int(golden["calls"][0])
    held = {i: (golden["keys"][i][:, :, :prompt], golden["values"][i][:, :, :prompt])
            for i in range(cfg.num_hidden_layers)}
    nxt = golden["ids"][:, prompt:prompt + 1]
    right = L.cached_logits([nxt], fx.weights, cfg, held=held)[0][0]
    top = golden["top_ids"][prompt:prompt + 1]
    theirs = golden["top_logits"][prompt:prompt + 1]
    assert (np.abs(np.take_along_axis(right, top, -1) - theirs) - RTOL * np.abs(theirs)).max() <= TOL
    cos, sin = L.rotary_tables(cfg.head_dim, prompt, cfg.rope_theta)
    twice = {i: (L.apply_rotary(k, cos, sin), v) for i, (k, v) in held.items()}
    wrong = L.cached_logits([nxt], fx.weights, cfg, held=twice)[0][0]
    print(f"  keys rotated twice: off by {np.abs(wrong - right).max():.3g}")
    assert np.abs(np.take_along_axis(wrong - right, top, -1)).max() > MARGIN
    x = fx.weights["model.embed_tokens.weight"][golden["ids"][:, :prompt]]
    normed = L.rms_norm(x, fx.weights["model.layers.0.input_layernorm.weight"], cfg.rms_norm_eps)
    raw = L._heads(L._linear(normed, fx.weights, "model.layers.0.self_attn.k_proj.weight"),
                   cfg.num_key_value_heads, cfg.head_dim)
    back = L.apply_rotary(held[0][0].astype(np.float64), cos, -sin)
    assert np.abs(back - raw).max() <= TOL
    assert np.abs(back - held[0][0]).max() > MARGIN
    assert L.repeat_kv(held[0][0], cfg.num_attention_heads // cfg.num_key_value_heads).shape[1] \
        == cfg.num_attention_heads != cfg.num_key_value_heads


@pytest.mark.parametrize("flag", L.CACHE_FLAGS)
def test_each_mistake_is_far_off_where_it_shows(golden, fx, flag):
    calls = _calls(golden)
    right = L.cached_logits(calls, fx.weights, fx.config)
    wrong = L.cached_logits(calls, fx.weights, fx.config, **{flag: True})
    shown = set()
    for index, (r, w) in enumerate(zip(right, wrong)):
        if w is None:
            print(f"  {flag}: raises from call {index + 1}")
            assert flag == "cache_raw_keys" and index == 5
            break
        distance = float(np.abs(w - r).max())
        print(f"  {flag}: call {index + 1} off by {distance:.3g}")
        if distance > MARGIN:
            shown.add(index)
        else:
            assert distance < 1e-9, (flag, index, distance)  # either right or far off
    assert shown == SHOWS[flag]


def test_every_mistake_has_advice_in_the_check():
    tests = importlib.import_module(KATA.package + ".test_kata")
    assert set(tests.ADVICE) == set(L.CACHE_FLAGS) == set(SHOWS)


# ---- the parent's judgement of fresh inputs -------------------------------------------------

def _inputs(seed: int) -> dict:
    return fresh.make_inputs(KATA, FIXTURES, np.random.default_rng(seed))


def _right(inputs: dict, fx) -> dict:
    whole = np.concatenate(SPEC.calls(inputs), axis=1)
    logits = L.logits(whole, fx.weights, fx.config)[..., inputs["columns"]]
    tokens = inputs["greedy_prompt"]
    for _ in range(int(inputs["greedy_tokens"])):
        nxt = int(np.argmax(L.logits(tokens, fx.weights, fx.config)[0, -1]))
        tokens = np.concatenate([tokens, [[nxt]]], axis=1)
    return {"logits": logits.astype(np.float32),
            "greedy": tokens[0, inputs["greedy_prompt"].shape[1]:].astype(np.int64)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_right_answers_pass(seed, fx):
    inputs = _inputs(seed)
    assert fresh.judge(KATA, inputs, _right(inputs, fx), FIXTURES) is None


def test_every_check_gets_new_inputs():
    first, second = _inputs(10), _inputs(11)
    assert any(first[k].shape != second[k].shape or not np.array_equal(first[k], second[k])
               for k in first)
    shapes = {tuple(len(c[0]) for c in SPEC.calls(_inputs(s))) for s in range(20)}
    assert len(shapes) > 5  # prompt, singles and chunk lengths vary


def test_wrong_answers_fail(fx):
    inputs = _inputs(3)
    right = _right(inputs, fx)
    off = dict(right, logits=right["logits"].copy())
    off["logits"][0, -1, 0] += 0.05
    assert "differ" in fresh.judge(KATA, inputs, off, FIXTURES)
    assert "float32" in fresh.judge(KATA, inputs, dict(right, logits=right["logits"].astype(np.float64)),
                                    FIXTURES)
    assert fresh.judge(KATA, inputs, {"greedy": right["greedy"]}, FIXTURES) is not None
    # a cache that restarts positions: the numbers of that mistake, judged by the parent
    restart = L.cached_logits(SPEC.calls(inputs), fx.weights, fx.config, cache_positions_restart=True)
    mistaken = np.concatenate(restart, axis=1)[..., inputs["columns"]].astype(np.float32)
    assert "differ" in fresh.judge(KATA, inputs, dict(right, logits=mistaken), FIXTURES)
    greedy = right["greedy"].copy()
    greedy[-1] = (greedy[-1] + 1) % 49152
    assert "token" in fresh.judge(KATA, inputs, dict(right, greedy=greedy), FIXTURES)
    assert "did not return" in fresh.judge(KATA, inputs, dict(right, greedy=greedy[:-1]), FIXTURES)
    assert "did not return" in fresh.judge(KATA, inputs, dict(right, greedy=greedy.astype(np.float32)),
                                           FIXTURES)


def test_a_greedy_tie_within_tolerance_passes(fx, monkeypatch):
    """float32 may pick either of two near-equal tokens: the judge takes both, then follows the
    learner's own tokens."""
    inputs = {"greedy_prompt": np.array([[5, 6]]), "greedy_tokens": np.array(2)}
    rows = np.zeros((1, 4, 49152))
    rows[0, 1, [7, 8]] = 3.0, 3.0 - 5e-4  # after the prompt: 7, or 8 within 1e-3
    rows[0, 2, 9] = 2.0
    monkeypatch.setattr(SPEC.llama, "logits", lambda ids, weights, config: rows)
    assert SPEC.judge_greedy(inputs, np.array([7, 9]), fx) is None
    assert SPEC.judge_greedy(inputs, np.array([8, 9]), fx) is None
    rows[0, 1, 8] = 3.0 - 2e-3
    assert "token 1 is 8" in SPEC.judge_greedy(inputs, np.array([8, 9]), fx)
    assert "token 2 is 7" in SPEC.judge_greedy(inputs, np.array([7, 7]), fx)
