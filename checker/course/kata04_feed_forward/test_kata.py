"""Kata 4: GPT2MLP matches block 0's MLP of Hugging Face's GPT-2, stage by stage."""

import math

import numpy as np

from checker.child.testkit import expect_close, fixture, once, run, tensor
from checker.models.gpt2_kit import gpt2_module, tiny_config

PREFIX = "transformer.h.0.mlp."


def _golden():
    return fixture("golden/step_04.npz")


def _mlp(learner):
    """Built and loaded once per check (the failures it recorded are replayed for each test)."""
    config = tiny_config()
    return once("mlp", lambda: gpt2_module("GPT2MLP(4 * n_embd, config)",
                                           lambda: learner.GPT2MLP(4 * config.n_embd, config), PREFIX))


def _mistakes(g) -> dict:
    weights = fixture("weights.npz")
    w, b = weights[PREFIX + "c_proj.weight"], weights[PREFIX + "c_proj.bias"]
    fc = g["c_fc"].astype(np.float64)
    erf = np.vectorize(math.erf)
    after = lambda act: act @ w + b  # noqa: E731 - Hugging Face's Conv1D layout is [in, out]
    return {
        "GELU is the exact (erf) form. GPT-2 uses the tanh approximation: "
        "F.gelu(x, approximate=\"tanh\").": after(0.5 * fc * (1 + erf(fc / math.sqrt(2)))),
        "ReLU is used instead of GELU. Use F.gelu(x, approximate=\"tanh\").": after(np.maximum(fc, 0)),
        "no activation is applied between c_fc and c_proj. Apply GELU (tanh) to c_fc's output.":
            after(fc),
        "GELU is applied after c_proj instead of between c_fc and c_proj.":
            _tanh_gelu(after(fc)),
    }


def _tanh_gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def test_parameter_names(learner):
    """c_fc and c_proj by GPT-2's names: block 0's MLP weights load (a mismatch is said by name
    when loading)."""
    _mlp(learner)


def test_c_fc_stage(learner):
    """The first linear layer alone: wrong here means the weights or c_fc's shape."""
    g = _golden()
    mlp = _mlp(learner)
    if mlp is not None:
        out = run("mlp.c_fc(x)", lambda: mlp.c_fc(tensor(g["x"])))
        expect_close("mlp.c_fc(x)", out, g["c_fc"])


def test_matches_gpt2_mlp(learner):
    g = _golden()
    mlp = _mlp(learner)
    if mlp is not None:
        out = run("GPT2MLP(x)", lambda: mlp(tensor(g["x"])))
        expect_close("GPT2MLP(x)", out, g["out"], mistakes=_mistakes(g))


def test_batch_of_two(learner):
    """The MLP works on every token of every sequence: a batch of 2 gives 2 results."""
    g = _golden()
    mlp = _mlp(learner)
    if mlp is not None:
        x = np.concatenate([g["x"], g["x"][:, ::-1]], axis=0)
        out = run("GPT2MLP(x) on a batch of 2", lambda: mlp(tensor(np.ascontiguousarray(x))))
        expected = np.concatenate([g["out"], g["out"][:, ::-1]], axis=0)
        mistakes = {advice: np.concatenate([wrong, wrong[:, ::-1]], axis=0)
                    for advice, wrong in _mistakes(g).items()}
        expect_close("GPT2MLP(x) on a batch of 2", out, expected, mistakes=mistakes)
