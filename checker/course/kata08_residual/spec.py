"""Kata 8's fresh inputs: hidden states, a sublayer output and a stand-in sublayer (scale * input
+ shift) nobody has seen, so the parent can tell what the residual block fed its sublayer."""

import numpy as np

from checker.check import fresh
from checker.models import gpt2


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    x = gpt2.draw_hidden(rng, fx)
    dim = x.shape[-1]
    return {"layer": gpt2.draw_layer(rng, fx), "x": x,
            "sublayer_output": rng.standard_normal(x.shape).astype(np.float32),
            "scale": rng.uniform(0.5, 2, dim).astype(np.float32),
            "shift": rng.standard_normal(dim).astype(np.float32)}


def run(learner, inputs):
    from max.experimental.nn import Module

    from checker.child.testkit import FAILED, attempt, build, fixture, run, tensor
    from checker.models.gpt2_kit import tiny_config

    class Affine(Module):
        """A stand-in sublayer: scale * input + shift, so the parent can tell what it was fed."""

        def forward(self, t):
            return t * tensor(inputs["scale"]) + tensor(inputs["shift"])

    config = tiny_config()
    x = tensor(inputs["x"])
    residual = run("apply_residual_connection(x, sublayer_output)",
                   lambda: learner.apply_residual_connection(x, tensor(inputs["sublayer_output"])))
    block = build("ResidualBlock(n_embd, sublayer, eps)",
                  lambda: learner.ResidualBlock(config.n_embd, Affine(), config.layer_norm_epsilon))
    if residual is None or block is None:
        return None
    layer = gpt2.layer_prefix(inputs) + "ln_1."
    weights = fixture("weights.npz")
    loaded = attempt("ResidualBlock.load_state_dict", lambda: block.load_state_dict(
        {"ln.weight": tensor(weights[layer + "weight"]), "ln.bias": tensor(weights[layer + "bias"])}))
    if loaded is FAILED:
        return None
    out = run("ResidualBlock(x)", lambda: block(x))
    return None if out is None else {"residual": residual, "block": out}


def expected(inputs, fixtures_dir):
    w = gpt2.Fixtures(fixtures_dir).weights
    layer = gpt2.layer_prefix(inputs)
    x = inputs["x"].astype(np.float64)
    normed = gpt2.layer_norm(x, w[layer + "ln_1.weight"], w[layer + "ln_1.bias"])
    return {"residual": x + inputs["sublayer_output"],
            "block": x + normed * inputs["scale"] + inputs["shift"]}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs)
