"""The floor of a check: a bare Python process that imports what kata N needs and runs the
reference component once on the kata's golden input, plainly (op by op, as a learner's own
script would), and compares it with the golden output. Run in a solved course copy:
`python bench/floor.py N` with cwd = the course and PYTHONPATH = the course.

Katas 1-12 have a floor written here. Every later kata's floor is its own spec.run (what a check
runs on the inputs it makes up) once, on one such draw, in a bare process: the component, used
the way its check uses it, without pytest, the golden comparisons or the parent's judgement.

It installs the SIGINT fix first, as the checker's child does: without it eager MAX is 20-60x
slower on Python 3.11 (see table 4), which would make the floor meaningless.
"""

from __future__ import annotations

import sys

from checker.child import sigint

sigint.install()

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

FIXTURES = Path("fixtures")


def _kata(number: int):
    return importlib.import_module(f"katas.step_{number:02d}")


def _loaded(module, prefix: str, keep=("",)):
    from checker.models import gpt2_weights as weights

    module.load_state_dict(weights.gpt2_state(FIXTURES, prefix, keep))
    return module


def spec_floor(number: int) -> None:
    from max.driver import CPU
    from max.dtype import DType
    from max.experimental.tensor import default_device, default_dtype

    from checker.check import fresh
    from checker.curriculum import load_curriculum

    kata = load_curriculum(Path(".").resolve()).get(number)
    os.environ.update(fresh.prepare(kata, lambda text: None))  # kata 18: SmolLM2's file, as a check
    inputs = fresh.make_inputs(kata, FIXTURES.resolve(), np.random.default_rng(number))
    spec = importlib.import_module(f"{kata.package}.spec")
    with default_device(CPU()), default_dtype(DType.float32):
        outputs = spec.run(importlib.import_module(kata.module), inputs)
    assert outputs is not None, f"kata {number}'s reference solution failed on its fresh inputs"


def main(number: int) -> None:
    if number > 12:
        spec_floor(number)
        return
    if number == 1:
        golden = json.loads((FIXTURES / "golden/step_01.json").read_text())
        config = _kata(1).GPT2Config()
        golden.pop("tiny")
        assert all(getattr(config, k) == v for k, v in golden.items()), "kata 1 differs"
        return
    from max.driver import CPU
    from max.dtype import DType
    from max.experimental.tensor import default_device, default_dtype

    from checker.models import gpt2_weights as weights

    g = np.load(FIXTURES / f"golden/step_{number:02d}.npz")
    t = weights.to_tensor
    with default_device(CPU()), default_dtype(DType.float32):
        config = weights.learner_config(FIXTURES) if number > 3 else None
        kata = _kata(number)
        if number == 2:
            out, want = kata.causal_mask(5, 0, dtype=DType.float32, device=CPU()), None
        elif number == 3:
            norm = kata.LayerNorm(g["x"].shape[-1], eps=float(g["eps"]))
            norm.load_state_dict({"weight": t(g["weight"]), "bias": t(g["bias"])})
            out, want = norm(t(g["x"])), g["out"]
        elif number == 4:
            mlp = _loaded(kata.GPT2MLP(4 * config.n_embd, config), "transformer.h.0.mlp.")
            out, want = mlp(t(g["x"])), g["out"]
        elif number == 5:
            emb = _loaded(kata.GPT2Embeddings(config), "transformer.", ("wte.",))
            out, want = emb(t(g["ids"])), g["out"]
        elif number == 6:
            pos = _loaded(kata.GPT2PositionEmbeddings(config), "transformer.", ("wpe.",))
            out, want = pos(t(g["ids"])), None
        elif number == 7:
            attn = _loaded(kata.GPT2MultiHeadAttention(config), "transformer.h.0.attn.")
            out, want = attn(t(g["x"])), g["out"]
        elif number == 8:
            out, want = kata.apply_residual_connection(t(g["x"]), t(g["sublayer"])), None
        elif number == 9:
            block = _loaded(kata.GPT2Block(config), "transformer.h.0.")
            out, want = block(t(g["x"])), g["out"]
        elif number == 10:
            model = _loaded(kata.GPT2Model(config), "transformer.", ("wte.", "wpe.", "h.", "ln_f."))
            out, want = model(t(g["ids"])), g["out"]
        elif number == 11:
            model = _loaded(kata.MaxGPT2LMHeadModel(config), "")
            out, want = model(t(g["ids"])), g["logits"]
        else:
            model = _loaded(_kata(11).MaxGPT2LMHeadModel(config), "")
            out = kata.generate_tokens(model, t(g["prompt_ids"]), max_new_tokens=16,
                                       temperature=1.0, do_sample=False)
            want = g["greedy_ids"]
        out = out.to_numpy()
        if want is not None:
            assert np.allclose(out, want, atol=1e-3, rtol=1e-4), f"kata {number} differs"


if __name__ == "__main__":
    main(int(sys.argv[1]))
