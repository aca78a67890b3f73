"""Kata 11: MaxGPT2LMHeadModel's logits match Hugging Face's GPT2LMHeadModel on real text."""

import numpy as np

from checker.models import gpt2 as reference
from checker.child.testkit import expect, expect_close, fixture, ids_tensor, once, run
from checker.models.gpt2_kit import gpt2_module, tiny_config


def _model(learner):
    config = tiny_config()
    return once("model", lambda: gpt2_module("MaxGPT2LMHeadModel(config)",
                                             lambda: learner.MaxGPT2LMHeadModel(config), ""))


def _logits(model, g):
    """The model's logits for the golden ids, computed once for both tests."""
    return once("logits", lambda: run("MaxGPT2LMHeadModel(ids)", lambda: model(ids_tensor(g["ids"]))))


def test_parameter_names(learner):
    """transformer.* and lm_head.weight by GPT-2's names: the weights load, the same wte matrix
    into transformer.wte.weight and lm_head.weight (a mismatch is said by name when loading)."""
    _model(learner)


def test_logits_match_gpt2(learner):
    g = fixture("golden/step_11.npz")
    model = _model(learner)
    if model is None:
        return
    out = _logits(model, g)
    logits = g["logits"].astype(np.float64)
    weights = reference.as_float64(fixture("weights.npz"))
    config = tiny_config()
    expect_close("logits", out, g["logits"], atol=1e-3, rtol=1e-4, mistakes={
        "the model returns probabilities. Return the raw logits; softmax comes later, when "
        "sampling.": reference.softmax(logits),
        "ln_f is skipped before lm_head: the logits come from the last block's raw output.":
            reference.model(g["ids"], weights, config.n_layer, config.n_head, final_norm=False)
            @ weights["transformer.wte.weight"].T,
        "the model returns log-probabilities. Return the raw logits.":
            logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
            - logits.max(-1, keepdims=True),
    })


def test_predicts_gpt2s_next_tokens(learner):
    """For each position, the most likely next token equals Hugging Face's."""
    g = fixture("golden/step_11.npz")
    model = _model(learner)
    if model is None:
        return
    out = _logits(model, g)
    if out is not None and out.shape == g["logits"].shape:
        mine, theirs = out.argmax(-1)[0], g["logits"].argmax(-1)[0]
        wrong = [int(i) for i in np.flatnonzero(mine != theirs)]
        expect(not wrong, f"At positions {wrong[:5]} your model's most likely next token differs "
                          f"from GPT-2's (e.g. {int(mine[wrong[0]]) if wrong else ''} instead of "
                          f"{int(theirs[wrong[0]]) if wrong else ''}).")

