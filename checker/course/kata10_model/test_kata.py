"""Kata 10: GPT2Model's last hidden state matches Hugging Face's GPT2Model on real text."""

import numpy as np

from checker.models import gpt2 as reference
from checker.child.testkit import expect, expect_close, fixture, ids_tensor, once, run
from checker.models.gpt2_kit import gpt2_module, tiny_config


def _model(learner):
    config = tiny_config()
    model = once("model", lambda: gpt2_module("GPT2Model(config)", lambda: learner.GPT2Model(config),
                                              "transformer.", keep=("wte.", "wpe.", "h.", "ln_f.")))
    return model, config


def _mistakes(ids, config) -> dict:
    weights = reference.as_float64(fixture("weights.npz"))
    wrong = lambda **kw: reference.model(ids, weights, config.n_layer, config.n_head, **kw)  # noqa: E731
    return {
        "the final layer norm ln_f is not applied after the last block.": wrong(final_norm=False),
        "positions start at 1. The first token is at position 0.": wrong(position_offset=1),
        "only one block runs. Run every block in self.h, in order.": wrong(layers=1),
        "no block runs: the embeddings go straight to ln_f.": wrong(layers=0),
    }


def test_parameter_names(learner):
    """wte, wpe, h.N.* and ln_f by GPT-2's names (transformer.* without the prefix): the weights
    load (a mismatch is said by name when loading)."""
    _model(learner)


def test_matches_gpt2_model(learner):
    g = fixture("golden/step_10.npz")
    model, config = _model(learner)
    if model is None:
        return
    out = run("GPT2Model(ids)", lambda: model(ids_tensor(g["ids"])))
    expect_close("GPT2Model(ids)", out, g["out"], mistakes=_mistakes(g["ids"], config))


def test_has_n_layer_blocks(learner):
    model, config = _model(learner)
    if model is None:
        return
    names = {name.split(".")[1] for name, _ in model.parameters if name.startswith("h.")}
    expect(len(names) == config.n_layer,
           f"GPT2Model.h holds {len(names)} blocks; the config asks for n_layer={config.n_layer}.")


def test_shorter_prompt(learner):
    """The first 2 tokens alone give GPT-2's first 2 outputs: the model is causal and works
    for any length."""
    g = fixture("golden/step_10.npz")
    model, config = _model(learner)
    if model is None:
        return
    ids = np.ascontiguousarray(g["ids"][:, :2])
    out = run("GPT2Model(first 2 ids)", lambda: model(ids_tensor(ids)))
    expect_close("GPT2Model(first 2 ids)", out, g["out"][:, :2], mistakes=_mistakes(ids, config))
