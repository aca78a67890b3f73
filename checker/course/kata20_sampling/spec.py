"""Kata 20's fresh inputs: logits nobody has seen (two golden rows with the vocabulary shuffled,
rescaled, one rounded to bfloat16), new settings for every filter, a new combination for
next_token_probs, and a new sampling case judged with the same DKW bound as the hidden tests."""

import numpy as np

from checker import fixture_files
from checker.models import sampling as ref
from checker.models.stats import cdf_distance

from . import kit

GOLDEN = "golden/step_20.npz"


def bfloat16(x: np.ndarray) -> np.ndarray:
    """float32 rounded to bfloat16's 8-bit mantissa (round to nearest even), back in float32."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def _rows(rng, g) -> np.ndarray:
    base = g["logits"][rng.choice(len(g["logits"]), 2, replace=False)]
    rows = base[:, rng.permutation(base.shape[1])] * np.float32(rng.uniform(0.8, 1.25))
    rows[1] = bfloat16(rows[1])
    return np.ascontiguousarray(rows, dtype=np.float32)


def _ids(rng, rows) -> np.ndarray:
    """Per row: random tokens, two of its likely ones (positive logits), and a repeat."""
    out = []
    for row in rows:
        likely = np.argsort(-row, kind="stable")[:2]
        context = rng.integers(0, len(row), 6)
        out.append(np.concatenate([context, likely, context[:1]]))
    return np.array(out, dtype=np.int64)


def _settings(rng, logits, ids, draw_one, tries: int = 50) -> dict:
    """draw_one(rng) -> settings, redrawn until float32 cannot decide them differently."""
    for _ in range(tries):
        try:
            return kit.settle(draw_one(rng), logits, ids)
        except ValueError:
            continue
    raise RuntimeError("no settings clear of float32's boundaries were found")


def _any(rng) -> dict:
    return {"temperature": round(float(rng.uniform(0.5, 1.5)), 3),
            "top_k": int(rng.integers(5, 200)),
            "top_p": round(float(rng.uniform(0.5, 0.95)), 3),
            "min_p": round(float(rng.uniform(0.01, 0.1)), 3),
            "repetition_penalty": round(float(rng.choice([rng.uniform(0.6, 0.9),
                                                           rng.uniform(1.1, 1.8)])), 3)}


def draw(rng, fixtures_dir):
    g = fixture_files.load(fixtures_dir, GOLDEN)
    logits = _rows(rng, g)
    ids = _ids(rng, logits)
    filters = {"temperature": round(float(rng.uniform(0.4, 2.0)), 3),
               "penalty": round(float(rng.uniform(1.1, 2.0)), 3)}
    for kind, value in (("top_k", lambda r: int(r.integers(2, 300))),
                        ("top_p", lambda r: round(float(r.uniform(0.2, 0.95)), 3)),
                        ("min_p", lambda r: round(float(r.uniform(0.02, 0.5)), 3))):
        filters.update(_settings(rng, logits, ids, lambda r: {kind: value(r)}))
    combined = _settings(rng, logits, ids, _any)
    s_logits, s_ids = _slice(rng, logits[0], ids[0])
    sampled = _settings(rng, s_logits, s_ids, _any)
    inputs = {"logits": logits, "input_ids": ids, "sample.logits": s_logits,
              "sample.input_ids": s_ids, "seed": np.array(int(rng.integers(0, 2**31)))}
    for name, settings in (("filter", filters), ("combined", combined), ("sampled", sampled)):
        for key, value in settings.items():
            inputs[f"{name}.{key}"] = np.array(value)
    return inputs


def _slice(rng, row, ids):
    """A 4096-token vocabulary cut from the row (its 2048 most likely tokens and 2048 others,
    shuffled), the ids that fall in it, and its favourite token twice."""
    order = np.argsort(-row, kind="stable")
    half = kit.SAMPLE_VOCAB // 2
    keep = np.concatenate([order[:half], rng.choice(order[half:], half, replace=False)])
    keep = keep[rng.permutation(len(keep))]
    where = {int(t): i for i, t in enumerate(keep)}
    mapped = [where[int(t)] for t in ids if int(t) in where]
    mapped += [where[int(order[0])]] * 2
    return (np.ascontiguousarray(row[keep][None], dtype=np.float32),
            np.array([mapped], dtype=np.int64))


def _read(inputs, name) -> dict:
    prefix = name + "."
    return {k[len(prefix):]: inputs[k].item() for k in inputs if k.startswith(prefix)}


def run(learner, inputs):
    from checker.child.testkit import FAILED, attempt, ids_tensor, tensor

    logits, ids = tensor(inputs["logits"]), ids_tensor(inputs["input_ids"])
    f = _read(inputs, "filter")
    calls = {
        "temperature": lambda: learner.apply_temperature(logits, f["temperature"]),
        "penalty": lambda: learner.apply_repetition_penalty(logits, ids, f["penalty"]),
        "top_k": lambda: learner.top_k_filter(logits, f["top_k"]),
        "top_p": lambda: learner.top_p_filter(logits, f["top_p"]),
        "min_p": lambda: learner.min_p_filter(logits, f["min_p"]),
        "probs": lambda: learner.next_token_probs(logits, ids, **_read(inputs, "combined")),
    }
    outputs = {}
    for name, call in calls.items():
        out = kit.learner_output(f"{name} on fresh logits", call)
        if out is None:
            return None
        outputs[name] = out
    s_logits = tensor(np.repeat(inputs["sample.logits"], kit.ROWS, axis=0))
    s_ids = ids_tensor(np.repeat(inputs["sample.input_ids"], kit.ROWS, axis=0))
    np.random.seed(int(inputs["seed"]))
    draws = []
    for _ in range(kit.CALLS):
        value = attempt("sample_next_token on fresh logits", lambda: learner.sample_next_token(
            s_logits, s_ids, **_read(inputs, "sampled")))
        if value is FAILED:
            return None
        try:
            draws.append(np.asarray(value.to_numpy()).reshape(-1).astype(np.int64))
        except Exception:  # noqa: BLE001 - the hidden tests say what was wrong with it
            return None
    outputs["draws"] = np.concatenate(draws)
    return outputs


def expected(inputs) -> dict:
    logits, ids = inputs["logits"], inputs["input_ids"]
    f = _read(inputs, "filter")
    return {"temperature": ref.apply_temperature(logits, f["temperature"]),
            "penalty": ref.apply_repetition_penalty(logits, ids, f["penalty"]),
            "top_k": ref.top_k_filter(logits, f["top_k"]),
            "top_p": ref.top_p_filter(logits, f["top_p"]),
            "min_p": ref.min_p_filter(logits, f["min_p"]),
            "probs": ref.next_token_probs(logits, ids, **_read(inputs, "combined"))}


def judge(inputs, outputs, fixtures_dir):
    from checker import diagnose

    for name, want in expected(inputs).items():
        got = outputs.get(name)
        if got is None:
            return f"no output named {name!r} came back"
        atol, rtol = ((kit.PROB_ATOL, kit.PROB_RTOL) if name == "probs"
                      else (kit.FILTER_ATOL, kit.FILTER_RTOL))
        with np.errstate(invalid="ignore"):  # -inf minus -inf where both filtered: equal
            problem = diagnose.compare(name, got, want, atol=atol, rtol=rtol)
        if problem:
            return problem
    draws = outputs.get("draws")
    vocab = inputs["sample.logits"].shape[-1]
    if draws is None or draws.shape != (kit.DRAWS,) or draws.min() < 0 or draws.max() >= vocab:
        return "the sampled tokens did not come back as token ids, one per row"
    probs = ref.next_token_probs(inputs["sample.logits"], inputs["sample.input_ids"],
                                 **_read(inputs, "sampled"))[0]
    if (probs[draws] == 0).any():
        token = int(draws[probs[draws] == 0][0])
        return f"sample_next_token drew token {token}, which the filters remove"
    distance = cdf_distance(draws, probs)
    diagnose.record_margin(distance / kit.EPS, diagnose.STATISTICAL)
    if distance > kit.EPS:
        return (f"{kit.DRAWS} draws do not follow the filtered distribution (distance "
                f"{distance:.3f}, allowed {kit.EPS})")
    return None
