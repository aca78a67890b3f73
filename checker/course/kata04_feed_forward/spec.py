"""Kata 4's fresh inputs: a random layer's MLP on normalized hidden states nobody has seen."""

import numpy as np

from checker.check import fresh
from checker.models import gpt2


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    layer = gpt2.draw_layer(rng, fx)
    prefix = f"transformer.h.{int(layer)}.ln_2."
    x = gpt2.layer_norm(gpt2.draw_hidden(rng, fx).astype(np.float64), fx.weights[prefix + "weight"],
                        fx.weights[prefix + "bias"])
    return {"layer": layer, "x": x.astype(np.float32)}


def run(learner, inputs):
    from checker.models.gpt2_kit import gpt2_outputs, tiny_config

    config = tiny_config()
    return gpt2_outputs("GPT2MLP", lambda: learner.GPT2MLP(4 * config.n_embd, config),
                        gpt2.layer_prefix(inputs) + "mlp.", inputs)


def expected(inputs, fixtures_dir):
    w = gpt2.Fixtures(fixtures_dir).weights
    return {"out": gpt2.mlp(inputs["x"].astype(np.float64), w, gpt2.layer_prefix(inputs) + "mlp.")}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs)
