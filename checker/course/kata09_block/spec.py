"""Kata 9's fresh inputs: a random layer's block on hidden states nobody has seen."""

import numpy as np

from checker.check import fresh
from checker.models import gpt2


# Fresh inputs are judged within 2x the hidden tests' 1e-4 + 1e-4 * |expected|: the reference
# solution's worst error over 200 fresh draws was 0.46 of that (bench/fresh_margins.py; bench/
# RESULTS.md, table 12), so 2x leaves it under a quarter. Every named mistake is far beyond
# (post-norm, no residual, swapped norms: 19 or more off on 50 fresh draws).
ATOL = RTOL = 2e-4


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    return {"layer": gpt2.draw_layer(rng, fx), "x": gpt2.draw_hidden(rng, fx)}


def run(learner, inputs):
    from checker.models.gpt2_kit import gpt2_outputs, tiny_config

    config = tiny_config()
    return gpt2_outputs("GPT2Block", lambda: learner.GPT2Block(config), gpt2.layer_prefix(inputs),
                        inputs)


def expected(inputs, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    return {"out": gpt2.block(inputs["x"].astype(np.float64), fx.weights, gpt2.layer_prefix(inputs),
                              fx.tiny["n_head"])}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs, atol=ATOL, rtol=RTOL)
