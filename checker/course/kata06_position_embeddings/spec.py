"""Kata 6's fresh inputs: a sequence of any length the model allows."""

from checker.check import fresh
from checker.models import gpt2


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    return {"ids": gpt2.draw_ids(rng, fx, 1, int(rng.integers(1, fx.tiny["n_positions"] + 1)))}


def run(learner, inputs):
    from checker.models.gpt2_kit import gpt2_outputs, tiny_config

    config = tiny_config()
    outputs = gpt2_outputs("GPT2PositionEmbeddings", lambda: learner.GPT2PositionEmbeddings(config),
                           "transformer.", inputs, keep=("wpe.",))
    if outputs and outputs["out"].ndim == 3 and outputs["out"].shape[0] == 1:
        outputs["out"] = outputs["out"][0]  # (1, T, n_embd) broadcasts like (T, n_embd)
    return outputs


def expected(inputs, fixtures_dir):
    wpe = gpt2.Fixtures(fixtures_dir).weights["transformer.wpe.weight"]
    return {"out": wpe[:inputs["ids"].shape[-1]]}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs)
