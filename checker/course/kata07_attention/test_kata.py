"""Kata 7: GPT2MultiHeadAttention matches block 0's attention in Hugging Face's GPT-2.

The verdict comes from forward() alone, so any correct way of writing attention passes. When
forward differs, the stage methods of the skeleton (where they exist) are compared with GPT-2's
own intermediates to name the first stage that goes wrong.
"""

import numpy as np

from checker import diagnose
from checker.models import gpt2 as reference
from checker.child.testkit import (expect, expect_batch_of_two, expect_causal, expect_close, fixture, once,
                             run, tensor)
from checker.models.gpt2_kit import gpt2_module, tiny_config

PREFIX = "transformer.h.0.attn."


def _golden():
    return fixture("golden/step_07.npz")


def _attention(learner):
    """Built and loaded once per check (the failures it recorded are replayed for each test)."""
    config = tiny_config()
    return once("attention", lambda: gpt2_module("GPT2MultiHeadAttention(config)",
                                                 lambda: learner.GPT2MultiHeadAttention(config), PREFIX))


def _mistakes(g) -> dict:
    weights = reference.as_float64(fixture("weights.npz"))
    x = g["x"].astype(np.float64)
    wrong = lambda **kw: reference.attention(x, weights, PREFIX, tiny_config().n_head, **kw)  # noqa: E731
    return {
        "the scores are not divided by sqrt(head_dim). Scale q @ k^T by 1 / sqrt(head_dim) "
        "before the mask and softmax.": wrong(scale=False),
        "the causal mask is not applied: every token sees the future. Add causal_mask(...) to "
        "the scores before softmax.": wrong(mask=False),
        "heads are split in the wrong order: reshape to (batch, seq, n_head, head_dim) first, "
        "then transpose to (batch, n_head, seq, head_dim).": wrong(order="wrong"),
        "softmax runs over the wrong axis: normalize over the keys, the last axis.": wrong(softmax_axis=-2),
        "c_proj's weight is used untransposed: a Linear computes x @ W.T + b.": wrong(transpose_proj=True),
    }


def _first_wrong_stage(module, g) -> str | None:
    """Compares the skeleton's stage methods with GPT-2's intermediates, in order."""
    x = tensor(g["x"])
    stages = []
    if hasattr(module, "qkv"):
        def qkv():
            q, k, v = module.qkv(x)
            return [("q (after split_heads)", q, g["q"]), ("k (after split_heads)", k, g["k"]),
                    ("v (after split_heads)", v, g["v"])]
        stages.append(qkv)
    if hasattr(module, "attention_weights"):
        stages.append(lambda: [("attention weights (softmax)",
                                module.attention_weights(tensor(g["q"]), tensor(g["k"])),
                                g["weights"])])
    if hasattr(module, "merge_heads"):
        heads = np.ascontiguousarray(np.einsum("bhqk,bhkd->bhqd", g["weights"], g["v"]))
        stages.append(lambda: [("merge_heads(weights @ v)", module.merge_heads(tensor(heads)),
                                g["merged"])])
    for stage in stages:
        try:
            produced = stage()
        except Exception as exc:  # noqa: BLE001
            return f"a stage method raised {type(exc).__name__}: {exc}"
        for name, value, expected in produced:
            try:
                value = value.to_numpy()
            except Exception:  # noqa: BLE001 - not a Tensor: the stage is not usable
                return f"{name}: did not return a MAX Tensor"
            problem = diagnose.compare(name, value, expected)
            if problem:
                return problem
    return None


def test_parameter_names(learner):
    """c_attn and c_proj by GPT-2's names: block 0's attention weights load (a mismatch is said
    by name when loading)."""
    _attention(learner)


def test_matches_gpt2_attention(learner):
    g = _golden()
    module = _attention(learner)
    if module is None:
        return
    out = run("GPT2MultiHeadAttention(x)", lambda: module(tensor(g["x"])))
    if out is None:
        return
    if not expect_close("GPT2MultiHeadAttention(x)", out, g["out"], mistakes=_mistakes(g)):
        stage = _first_wrong_stage(module, g)
        expect(stage is None, f"The first stage that differs from GPT-2: {stage}")


def test_is_causal(learner):
    """Changing the last token must not change the outputs of the tokens before it."""
    g = _golden()
    module = _attention(learner)
    if module is None:
        return
    expect_causal(module, g["x"], "GPT2MultiHeadAttention")


def test_batch_of_two(learner):
    g = _golden()
    module = _attention(learner)
    if module is None:
        return
    expect_batch_of_two(module, g["x"], g["out"], "GPT2MultiHeadAttention", _mistakes(g))
