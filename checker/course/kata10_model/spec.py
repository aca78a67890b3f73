"""Kata 10's fresh inputs: token ids nobody has seen, through the whole GPT2Model."""

from checker.check import fresh
from checker.models import gpt2


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    return {"ids": gpt2.draw_ids(rng, fx, int(rng.integers(1, 3)), int(rng.integers(1, 13)))}


def run(learner, inputs):
    from checker.models.gpt2_kit import gpt2_outputs, tiny_config

    config = tiny_config()
    # The hidden tests built this very model already: the same key reuses it.
    return gpt2_outputs("GPT2Model", lambda: learner.GPT2Model(config), "transformer.", inputs,
                        keep=("wte.", "wpe.", "h.", "ln_f."), once_key="model")


def expected(inputs, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    return {"out": gpt2.model(inputs["ids"], fx.weights, fx.tiny["n_layer"], fx.tiny["n_head"])}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs)
