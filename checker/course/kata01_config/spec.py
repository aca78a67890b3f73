"""Kata 1's fresh inputs: a configuration nobody has seen, which GPT2Config(...) must keep, and
GPT-2 small's defaults, which GPT2Config() must give."""

import numpy as np

CONFIG_FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")


def draw(rng, fixtures_dir):
    heads = int(rng.integers(1, 9))
    return {"custom": np.array([rng.integers(100, 60000), rng.integers(8, 2048),
                                heads * int(rng.integers(2, 33)), rng.integers(1, 13), heads,
                                10.0 ** rng.uniform(-7, -3)], dtype=np.float64)}


def run(learner, inputs):
    from checker.child.testkit import FAILED, attempt, expect

    default = attempt("GPT2Config()", lambda: learner.GPT2Config())
    values = inputs["custom"]
    kwargs = {field: (float(v) if field == "layer_norm_epsilon" else int(v))
              for field, v in zip(CONFIG_FIELDS, values)}
    custom = attempt("GPT2Config(...)", lambda: learner.GPT2Config(**kwargs))
    if FAILED in (default, custom):
        return None
    rows = {}
    for name, config in (("default", default), ("custom", custom)):
        values = [getattr(config, field, None) for field in CONFIG_FIELDS]
        wrong = [f for f, v in zip(CONFIG_FIELDS, values)
                 if isinstance(v, bool) or not isinstance(v, (int, float))]
        if not expect(not wrong, f"GPT2Config{'()' if name == 'default' else '(...)'} has no number "
                                 f"in {', '.join(wrong)}: every field must hold a number."):
            return None
        rows[name] = np.array(values, dtype=np.float64)
    return rows


def judge(inputs, outputs, fixtures_dir):
    from checker.models.gpt2 import Fixtures

    config = Fixtures(fixtures_dir).config
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
