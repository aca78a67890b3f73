"""Kata 3's fresh inputs: a width, values, weight, bias and eps nobody has seen; the last token is
nearly constant, so that eps matters."""

import numpy as np

from checker.check import fresh
from checker.models import gpt2


def draw(rng, fixtures_dir):
    dim = int(rng.integers(8, 97))
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(2, 9)), dim))
    x = x * rng.uniform(0.5, 3) + rng.uniform(-1, 1)
    x[:, -1] = rng.uniform(-1, 1) + 1e-2 * rng.standard_normal((x.shape[0], dim))  # eps matters
    return {"x": x.astype(np.float32),
            "weight": (1 + 0.3 * rng.standard_normal(dim)).astype(np.float32),
            "bias": (0.3 * rng.standard_normal(dim)).astype(np.float32),
            "eps": np.array(10.0 ** rng.uniform(-5, -2))}


def run(learner, inputs):
    from checker.child.testkit import FAILED, attempt, build, outputs, tensor

    dim, eps = inputs["x"].shape[-1], float(inputs["eps"])
    norm = build(f"LayerNorm({dim}, eps={eps:g})", lambda: learner.LayerNorm(dim, eps=eps))
    if norm is None:
        return None
    loaded = attempt("LayerNorm.load_state_dict", lambda: norm.load_state_dict(
        {"weight": tensor(inputs["weight"]), "bias": tensor(inputs["bias"])}))
    return None if loaded is FAILED else outputs("LayerNorm(x)", lambda: norm(tensor(inputs["x"])))


def expected(inputs, fixtures_dir):
    x = inputs["x"].astype(np.float64)
    return {"out": gpt2.layer_norm(x, inputs["weight"], inputs["bias"], float(inputs["eps"]))}


def judge(inputs, outputs, fixtures_dir):
    return fresh.judge_tensors(expected(inputs, fixtures_dir), outputs)
