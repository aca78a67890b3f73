"""Kata 11's fresh inputs: token ids nobody has seen; the logits must be GPT-2's."""

from checker.check import fresh
from checker.models import gpt2


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    return {"ids": gpt2.draw_ids(rng, fx, int(rng.integers(1, 3)), int(rng.integers(1, 13)))}


def run(learner, inputs):
    from checker.models.gpt2_kit import gpt2_outputs, tiny_config

    config = tiny_config()
    # The hidden tests built this very model already: the same key reuses it.
    return gpt2_outputs("MaxGPT2LMHeadModel", lambda: learner.MaxGPT2LMHeadModel(config), "",
                        inputs, once_key="model")


def expected(inputs, fixtures_dir):
    return {"out": gpt2.Fixtures(fixtures_dir).logits(inputs["ids"])}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs)
