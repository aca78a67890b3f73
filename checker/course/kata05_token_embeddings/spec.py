"""Kata 5's fresh inputs: token ids nobody has seen, in a batch of one or two."""

from checker.check import fresh
from checker.models import gpt2


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    return {"ids": gpt2.draw_ids(rng, fx, int(rng.integers(1, 3)), int(rng.integers(1, 13)))}


def run(learner, inputs):
    from checker.models.gpt2_kit import gpt2_outputs, tiny_config

    config = tiny_config()
    return gpt2_outputs("GPT2Embeddings", lambda: learner.GPT2Embeddings(config), "transformer.",
                        inputs, keep=("wte.",))


def expected(inputs, fixtures_dir):
    return {"out": gpt2.Fixtures(fixtures_dir).weights["transformer.wte.weight"][inputs["ids"]]}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs)
