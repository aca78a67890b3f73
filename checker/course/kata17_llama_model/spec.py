"""Kata 17's fresh inputs: token ids nobody has seen, through the whole LlamaForCausalLM."""

from checker.check import fresh
from checker.models import llama_data

LOGITS_ATOL = 1e-3  # as the hidden tests: float32 rounding of unit-scale logits reaches 1e-4


def draw(rng, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    return {"ids": llama_data.draw_ids(rng, fx, int(rng.integers(1, 3)), int(rng.integers(1, 13)))}


def run(learner, inputs):
    from checker.models.llama_kit import llama_outputs, tiny_config

    config = tiny_config()
    # The hidden tests built this very model already: the same key reuses it.
    return llama_outputs("LlamaForCausalLM", lambda: learner.LlamaForCausalLM(config), "", inputs,
                         once_key="model")


def expected(inputs, fixtures_dir):
    return {"out": llama_data.Fixtures(fixtures_dir).logits(inputs["ids"])}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs, model="SmolLM2",
                               atol=LOGITS_ATOL)
