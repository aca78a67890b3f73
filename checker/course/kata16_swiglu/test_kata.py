"""Kata 16: LlamaMLP (SwiGLU) matches layer 0's MLP in Hugging Face's Llama."""

import numpy as np

from checker.models import llama
from checker.models.llama_kit import llama_module, tiny_config, weights64
from checker.child.testkit import expect_batch_of_two, expect_close, fixture, once, run, tensor

PREFIX = "model.layers.0.mlp."


def _golden():
    return fixture("golden/step_16.npz")


def _mlp(learner):
    """Built and loaded once per check (the failures it recorded are replayed for each test)."""
    config = tiny_config()
    return once("mlp", lambda: llama_module("LlamaMLP(config)", lambda: learner.LlamaMLP(config), PREFIX))


def _mistakes(x) -> dict:
    wrong = lambda **flag: llama.mlp(x.astype(np.float64), weights64(), PREFIX, **flag)  # noqa: E731
    return {
        "gate_proj and up_proj are swapped: SiLU goes on gate_proj(x), which then multiplies "
        "up_proj(x): down_proj(silu(gate_proj(x)) * up_proj(x)).": wrong(mlp_gate_up_swapped=True),
        "GELU is used instead of SiLU: Llama's gate is silu(z) = z * sigmoid(z).": wrong(mlp_gelu=True),
    }


def test_parameter_names(learner):
    """gate_proj, up_proj and down_proj by Hugging Face's names, without biases: the weights
    load (a mismatch is said by name when loading)."""
    _mlp(learner)


def test_matches_hf_mlp(learner):
    g = _golden()
    module = _mlp(learner)
    if module is None:
        return
    out = run("LlamaMLP(x)", lambda: module(tensor(g["x"])))
    expect_close("LlamaMLP(x)", out, g["out"], mistakes=_mistakes(g["x"]))


def test_batch_of_two(learner):
    g = _golden()
    module = _mlp(learner)
    if module is None:
        return
    expect_batch_of_two(module, g["x"], g["out"], "LlamaMLP", _mistakes(g["x"]))
