"""Kata 21's fresh inputs: a MoE block nobody has seen (its sizes, number of experts, experts per
token and weights all drawn anew) on hidden states nobody has seen, judged in the parent with the
numpy reference (proven equal to Hugging Face's block in tests/test_part3_references.py)."""

import numpy as np

from checker.check import fresh
from checker.models import moe

from . import kit

CHOICE_MARGIN = 1e-3  # as the golden data: no token's choice of experts hangs on float32 rounding


def draw(rng, fixtures_dir):
    experts = int(rng.integers(4, 9))
    config = {"hidden_size": int(rng.choice([16, 24, 32])),
              "intermediate_size": int(rng.choice([16, 32, 40])),
              "num_local_experts": experts,
              "num_experts_per_tok": int(rng.integers(1, min(4, experts)))}
    weights = moe.random_weights(rng, config["hidden_size"], config["intermediate_size"], experts,
                                 router_std=float(rng.uniform(0.25, 0.45)), expert_std=0.3)
    w64 = moe.as_float64(weights)
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 7)), config["hidden_size"])
    x = rng.standard_normal(shape).astype(np.float32)
    k = config["num_experts_per_tok"]
    for _ in range(1000):  # redraw the tokens whose k-th and (k+1)-th experts nearly tie
        probs = moe.softmax(moe.router_logits(x.reshape(-1, shape[-1]).astype(np.float64), w64))
        ordered = -np.sort(-probs, axis=-1)
        bad = ordered[:, k - 1] - ordered[:, k] <= CHOICE_MARGIN
        if not bad.any():
            break
        flat = x.reshape(-1, shape[-1])
        flat[bad] = rng.standard_normal((int(bad.sum()), shape[-1])).astype(np.float32)
    inputs = {"x": x, **weights}
    inputs.update({f"config.{name}": np.array(value) for name, value in config.items()})
    return inputs


def run(learner, inputs):
    from checker.child.testkit import outputs, tensor

    block = kit.build_block(learner, kit.config_of(inputs), inputs, "MixtralSparseMoeBlock")
    if block is None:
        return None
    return outputs("MixtralSparseMoeBlock on fresh weights and inputs",
                   lambda: block(tensor(inputs["x"])))


def judge(inputs, outputs, fixtures_dir):
    config = kit.config_of(inputs)
    want = moe.moe(inputs["x"], moe.as_float64(inputs), config["num_experts_per_tok"])
    return fresh.judge_tensors({"out": want}, outputs, model="the MoE block", atol=kit.ATOL)
