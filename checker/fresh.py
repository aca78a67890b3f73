"""Fresh inputs made up at check time, and the parent's own judgement of the learner's outputs.

The hidden tests explain mistakes on the golden inputs, inside the child process, where the
learner's code runs too and could patch them. This is the guard it cannot forge: the parent
draws new inputs for every check, the child only runs the learner's code on them and saves what
comes back, and the parent compares that with a numpy GPT-2 (checker.reference, which the test
suite proves equal to Hugging Face on the golden data). Patching the comparison, faking the
result file or returning the golden outputs cannot produce these numbers.

Everything here is numpy: the parent never imports MAX.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from checker import diagnose, golden, reference
from checker.stats import cdf_distance

CONFIG_FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")
MASK_BLOCKED_AT_MOST = -1e4  # as the hidden tests: anything this negative removes a key
GREEDY_NEW_TOKENS = 4
GREEDY_TIE = 1e-3  # a token whose logit is this close to the best is an equally right argmax
SAMPLE_DRAWS = 60  # the same DKW bound as kata 12's hidden test: a correct sampler fails < 1e-8
SAMPLE_EPS = 0.4


@functools.lru_cache(maxsize=2)
def _weights64(fixtures_dir: Path) -> dict:
    """GPT-2's weights as float64, converted once per process (inputs and judgement share them)."""
    return reference.as_float64(golden.load(fixtures_dir, "weights.npz"))


class Fixtures:
    """The verified fixtures the parent needs: GPT-2's config and weights, as float64."""

    def __init__(self, fixtures_dir: Path):
        self.dir = fixtures_dir

    @property
    def config(self) -> dict:
        return golden.load(self.dir, "golden/step_01.json")

    @property
    def tiny(self) -> dict:
        return self.config["tiny"]

    @property
    def weights(self) -> dict:
        return _weights64(self.dir)

    def embeddings(self, ids: np.ndarray) -> np.ndarray:
        w = self.weights
        return w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:ids.shape[-1]]


def _ids(rng, fx: Fixtures, batch: int, seq: int) -> np.ndarray:
    return rng.integers(0, fx.tiny["vocab_size"], size=(batch, seq), dtype=np.int64)


def _hidden(rng, fx: Fixtures) -> np.ndarray:
    """Realistic hidden states: embedded random tokens, with a little noise."""
    batch, seq = int(rng.integers(1, 3)), int(rng.integers(2, 10))
    x = fx.embeddings(_ids(rng, fx, batch, seq))
    return (x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)


def _layer(rng, fx: Fixtures) -> np.ndarray:
    return np.array(int(rng.integers(0, fx.tiny["n_layer"])))


def make_inputs(number: int, fixtures_dir: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """New inputs for kata `number`: shapes, values and layers nobody has seen before."""
    fx = Fixtures(fixtures_dir)
    if number == 1:
        heads = int(rng.integers(1, 9))
        return {"custom": np.array([rng.integers(100, 60000), rng.integers(8, 2048),
                                    heads * int(rng.integers(2, 33)), rng.integers(1, 13), heads,
                                    10.0 ** rng.uniform(-7, -3)], dtype=np.float64)}
    if number == 2:
        return {"seq": np.array(int(rng.integers(1, 13))), "past": np.array(int(rng.integers(0, 7)))}
    if number == 3:
        dim = int(rng.integers(8, 97))
        x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(2, 9)), dim))
        x = x * rng.uniform(0.5, 3) + rng.uniform(-1, 1)
        x[:, -1] = rng.uniform(-1, 1) + 1e-2 * rng.standard_normal((x.shape[0], dim))  # eps matters
        return {"x": x.astype(np.float32),
                "weight": (1 + 0.3 * rng.standard_normal(dim)).astype(np.float32),
                "bias": (0.3 * rng.standard_normal(dim)).astype(np.float32),
                "eps": np.array(10.0 ** rng.uniform(-5, -2))}
    if number == 4:
        layer = _layer(rng, fx)
        prefix = f"transformer.h.{int(layer)}.ln_2."
        x = reference.layer_norm(_hidden(rng, fx).astype(np.float64), fx.weights[prefix + "weight"],
                                 fx.weights[prefix + "bias"])
        return {"layer": layer, "x": x.astype(np.float32)}
    if number in (5, 10, 11):
        return {"ids": _ids(rng, fx, int(rng.integers(1, 3)), int(rng.integers(1, 13)))}
    if number == 6:
        return {"ids": _ids(rng, fx, 1, int(rng.integers(1, fx.tiny["n_positions"] + 1)))}
    if number in (7, 9):
        return {"layer": _layer(rng, fx), "x": _hidden(rng, fx)}
    if number == 8:
        x = _hidden(rng, fx)
        dim = x.shape[-1]
        return {"layer": _layer(rng, fx), "x": x,
                "sublayer_output": rng.standard_normal(x.shape).astype(np.float32),
                "scale": rng.uniform(0.5, 2, dim).astype(np.float32),
                "shift": rng.standard_normal(dim).astype(np.float32)}
    if number == 12:
        context = _ids(rng, fx, 1, 3)
        return {"prompt": _ids(rng, fx, 1, int(rng.integers(2, 7))),
                "logits": _logits(fx, context)[0, -1].astype(np.float32),
                "temperature": np.array(rng.uniform(0.7, 1.3)),
                "seed": np.array(int(rng.integers(0, 2**31)))}
    raise ValueError(f"no fresh inputs for kata {number}")


def _logits(fx: Fixtures, ids: np.ndarray) -> np.ndarray:
    t = fx.tiny
    hidden = reference.model(ids, fx.weights, t["n_layer"], t["n_head"])
    return hidden @ fx.weights["transformer.wte.weight"].T


def expected(number: int, inputs: dict, fixtures_dir: Path) -> dict[str, np.ndarray]:
    """What GPT-2 gives for `inputs` (katas whose answer is a tensor)."""
    fx = Fixtures(fixtures_dir)
    w, t = fx.weights, fx.tiny
    layer = f"transformer.h.{int(inputs['layer'])}." if "layer" in inputs else ""
    x = inputs["x"].astype(np.float64) if "x" in inputs else None
    if number == 3:
        return {"out": reference.layer_norm(x, inputs["weight"], inputs["bias"], float(inputs["eps"]))}
    if number == 4:
        return {"out": reference.mlp(x, w, layer + "mlp.")}
    if number == 5:
        return {"out": w["transformer.wte.weight"][inputs["ids"]]}
    if number == 6:
        return {"out": w["transformer.wpe.weight"][:inputs["ids"].shape[-1]]}
    if number == 7:
        return {"out": reference.attention(x, w, layer + "attn.", t["n_head"])}
    if number == 8:
        normed = reference.layer_norm(x, w[layer + "ln_1.weight"], w[layer + "ln_1.bias"])
        return {"residual": x + inputs["sublayer_output"],
                "block": x + normed * inputs["scale"] + inputs["shift"]}
    if number == 9:
        return {"out": reference.block(x, w, layer, t["n_head"])}
    if number == 10:
        return {"out": reference.model(inputs["ids"], w, t["n_layer"], t["n_head"])}
    if number == 11:
        return {"out": _logits(fx, inputs["ids"])}
    raise ValueError(f"kata {number} is judged by rule, not by one expected tensor")


def judge(number: int, inputs: dict, outputs: dict, fixtures_dir: Path) -> str | None:
    """None when the learner's outputs on the fresh inputs are right; else what is wrong."""
    if number == 1:
        return _judge_config(inputs, outputs, Fixtures(fixtures_dir).config)
    if number == 2:
        return _judge_mask(inputs, outputs)
    if number == 12:
        return _judge_generation(inputs, outputs, Fixtures(fixtures_dir))
    for name, want in expected(number, inputs, fixtures_dir).items():
        got = outputs.get(name)
        if got is None:
            return f"no output named {name!r} came back"
        problem = _dtype_problem(name, got, np.float32) or diagnose.compare(name, got, want)
        if problem:
            return problem
    return None


def _dtype_problem(name: str, got: np.ndarray, want) -> str | None:
    if got.dtype != want:
        return f"{name} is {got.dtype}; GPT-2 here computes in {np.dtype(want)}."
    return None


def _judge_config(inputs, outputs, config) -> str | None:
    default, custom = outputs.get("default"), outputs.get("custom")
    if default is None or custom is None or default.shape != (6,) or custom.shape != (6,):
        return "the configuration values did not come back"
    for field, got, want in zip(CONFIG_FIELDS, default, [config[f] for f in CONFIG_FIELDS]):
        if not np.isclose(got, want, rtol=1e-9, atol=1e-12):
            return f"GPT2Config().{field} is {got:g}; GPT-2 small's is {want:g}"
    for field, got, want in zip(CONFIG_FIELDS, custom, inputs["custom"]):
        if not np.isclose(got, want, rtol=1e-9, atol=1e-15):
            return f"GPT2Config({field}={want:g}) kept {got:g}"
    return None


def _judge_mask(inputs, outputs) -> str | None:
    seq, past = int(inputs["seq"]), int(inputs["past"])
    mask = outputs.get("mask")
    if mask is None:
        return "no mask came back"
    if mask.shape != (seq, seq + past):
        return f"causal_mask({seq}, {past}) has shape {mask.shape}; expected {(seq, seq + past)}"
    if mask.dtype != np.float32:
        return f"causal_mask({seq}, {past}) is {mask.dtype}; expected float32"
    rows, cols = np.indices(mask.shape)
    allowed = cols <= rows + past
    if (~allowed & ~(mask <= MASK_BLOCKED_AT_MOST)).any() or (allowed & ~(np.abs(mask) <= 1e-6)).any():
        return f"causal_mask({seq}, {past}) lets queries see the wrong keys"
    return None


def _judge_generation(inputs, outputs, fx: Fixtures) -> str | None:
    prompt, tokens, draws = inputs["prompt"], outputs.get("greedy"), outputs.get("draws")
    if tokens is None or draws is None:
        return "the generated tokens did not come back"
    want_shape = (1, prompt.shape[1] + GREEDY_NEW_TOKENS)
    if tokens.shape != want_shape or tokens.dtype.kind not in "iu":
        return f"greedy generation gave {tokens.dtype} of shape {tokens.shape}; expected int64 {want_shape}"
    if not np.array_equal(tokens[:, :prompt.shape[1]], prompt):
        return "greedy generation did not keep the prompt at the start"
    for step in range(prompt.shape[1], tokens.shape[1]):
        logits = _logits(fx, tokens[:, :step])[0, -1]
        chosen = int(tokens[0, step])
        if not 0 <= chosen < len(logits) or logits[chosen] < logits.max() - GREEDY_TIE:
            return (f"greedy token {step - prompt.shape[1] + 1} is {chosen}; GPT-2's most likely "
                    f"next token is {int(np.argmax(logits))}")
    if draws.shape != (SAMPLE_DRAWS,) or draws.dtype.kind not in "iu" or draws.min() < 0 \
            or draws.max() >= len(inputs["logits"]):
        return "the sampled tokens are not vocabulary ids"
    scaled = inputs["logits"].astype(np.float64) / float(inputs["temperature"])
    probs = np.exp(scaled - scaled.max())
    distance = cdf_distance(draws, probs / probs.sum())
    if distance > SAMPLE_EPS:
        return (f"at temperature {float(inputs['temperature']):.2f}, {SAMPLE_DRAWS} samples do not "
                f"follow GPT-2's probabilities (distance {distance:.2f}, allowed {SAMPLE_EPS})")
    return None


def save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as out:
        np.savez(out, **arrays)


def load(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays in `path`, or None when it is missing or not a plain npz of arrays."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError):
        return None
