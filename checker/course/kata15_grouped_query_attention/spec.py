"""Kata 15's fresh inputs: a random layer's attention on hidden states nobody has seen."""

import numpy as np

from checker.check import fresh
from checker.models import llama, llama_data


def draw(rng, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    return {"layer": llama_data.draw_layer(rng, fx), "x": llama_data.draw_hidden(rng, fx)}


def run(learner, inputs):
    from checker.models.llama_kit import llama_outputs, tiny_config

    config = tiny_config()
    return llama_outputs("LlamaAttention", lambda: learner.LlamaAttention(config),
                         llama_data.layer_prefix(inputs) + "self_attn.", inputs)


def expected(inputs, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    return {"out": llama.attention(inputs["x"].astype(np.float64), fx.weights,
                                   llama_data.layer_prefix(inputs) + "self_attn.", fx.config)}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs, model="SmolLM2")
