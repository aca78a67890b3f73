"""Kata 3's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import to_numpy, SEED, SENTENCE

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_layer_norm(model, tok) -> dict:
    """Kata 3: ln_1 of block 0 on real embedded text, plus a near-constant row where eps matters."""
    import torch

    ids = torch.tensor([tok.encode(SENTENCE)])
    with torch.no_grad():
        x = model.transformer.wte(ids) + model.transformer.wpe(torch.arange(ids.shape[1]))
        generator = torch.Generator().manual_seed(SEED + 3)
        quiet = 0.5 + 1e-3 * torch.randn(1, 1, x.shape[-1], generator=generator)
        x = torch.cat([x, quiet], dim=1)
        ln = model.transformer.h[0].ln_1
        fresh = torch.nn.LayerNorm(x.shape[-1], eps=ln.eps)
        out = ln(x)
        out_default = fresh(x)
    return {"npz": {
        "x": to_numpy(x), "weight": to_numpy(ln.weight), "bias": to_numpy(ln.bias), "out": to_numpy(out),
        "out_default": to_numpy(out_default), "eps": np.array(ln.eps, dtype=np.float64),
    }}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_03.npz": golden_layer_norm}
