"""Kata 13's fresh inputs: a width, values at a scale where eps may matter, a weight and an eps
nobody has seen."""

import numpy as np

from checker.check import fresh
from checker.models import llama


def draw(rng, fixtures_dir):
    dim = int(rng.integers(8, 97))
    scale = 10.0 ** rng.uniform(-2.5, 0.5)  # down to where mean(x^2) is comparable to eps
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(2, 9)), dim)) * scale
    return {"x": x.astype(np.float32),
            "weight": (1 + 0.3 * rng.standard_normal(dim)).astype(np.float32),
            "eps": np.array(10.0 ** rng.uniform(-6, -3))}


def run(learner, inputs):
    from checker.child.testkit import FAILED, attempt, build, outputs, tensor

    dim, eps = inputs["x"].shape[-1], float(inputs["eps"])
    norm = build(f"RMSNorm({dim}, eps={eps:g})", lambda: learner.RMSNorm(dim, eps=eps))
    if norm is None:
        return None
    loaded = attempt("RMSNorm.load_state_dict",
                     lambda: norm.load_state_dict({"weight": tensor(inputs["weight"])}))
    return None if loaded is FAILED else outputs("RMSNorm(x)", lambda: norm(tensor(inputs["x"])))


def expected(inputs, fixtures_dir):
    return {"out": llama.rms_norm(inputs["x"], inputs["weight"], float(inputs["eps"]))}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs, model="SmolLM2")
