"""Kata 15: repeat_kv and LlamaAttention match layer 0's attention in Hugging Face's Llama
(grouped-query: 4 query heads share 2 key/value heads), inside a full forward with its mask."""

import numpy as np

from checker.models import llama
from checker.models.llama_kit import llama_module, tiny_config, weights64
from checker.child.testkit import expect_batch_of_two, expect_causal, expect_close, fixture, once, run, tensor

PREFIX = "model.layers.0.self_attn."


def _golden():
    return fixture("golden/step_15.npz")


def _attention(learner):
    """Built and loaded once per check (the failures it recorded are replayed for each test)."""
    config = tiny_config()
    return once("attention", lambda: llama_module("LlamaAttention(config)",
                                                  lambda: learner.LlamaAttention(config), PREFIX))


def test_repeat_kv(learner):
    g = _golden()
    n_rep = int(g["n_rep"])
    out = run(f"repeat_kv(k, {n_rep})", lambda: learner.repeat_kv(tensor(g["k_rot"]), n_rep))
    wrong = {"the kv heads are repeated in the wrong order (tiled: h0, h1, h0, h1). Each kv head "
             "serves n_rep neighbouring query heads: h0, h0, h1, h1 (repeat each head in place).":
             llama.repeat_kv(g["k_rot"], n_rep, kv_tiled=True)}
    expect_close(f"repeat_kv(k, {n_rep})", out, g["kv_repeated"], mistakes=wrong)


def test_parameter_names(learner):
    """q, k, v and o projections by Hugging Face's names, without biases: the weights load
    (a mismatch is said by name when loading)."""
    _attention(learner)


def _mistakes(x) -> dict:
    w = weights64()
    cfg = llama.Config.of(fixture("llama_config.json"))
    wrong = lambda **flag: llama.attention(x.astype(np.float64), w, PREFIX, cfg, **flag)  # noqa: E731
    return {
        "the kv heads are repeated in the wrong order (tiled): query head h must read kv head "
        "h // n_rep, not h % n_kv. Repeat each kv head n_rep times in place.": wrong(kv_tiled=True),
        "RoPE is applied to the queries but not to the keys: rotate both.": wrong(rope_missing_on_k=True),
        "the scores are not divided by sqrt(head_dim). Scale q @ k^T by 1 / sqrt(head_dim).":
            wrong(no_scale=True),
        "the causal mask is not applied: every token sees the future. Add causal_mask(seq, 0) to "
        "the scores before softmax.": wrong(no_mask=True),
        "RoPE ignores config.rope_theta (100000 here) and uses 10000.": wrong(rope_theta_ignored=True),
        "RoPE rotates interleaved pairs: Hugging Face rotates the two halves of each head.":
            wrong(rope_interleaved=True),
    }


def test_matches_hf_attention(learner):
    g = _golden()
    module = _attention(learner)
    if module is None:
        return
    out = run("LlamaAttention(x)", lambda: module(tensor(g["x"])))
    expect_close("LlamaAttention(x)", out, g["out"], mistakes=_mistakes(g["x"]))


def test_is_causal(learner):
    """Changing the last token must not change the outputs of the tokens before it."""
    g = _golden()
    module = _attention(learner)
    if module is None:
        return
    expect_causal(module, g["x"], "LlamaAttention")


def test_batch_of_two(learner):
    g = _golden()
    module = _attention(learner)
    if module is None:
        return
    expect_batch_of_two(module, g["x"], g["out"], "LlamaAttention", _mistakes(g["x"]))
