"""Kata 3: LayerNorm matches Hugging Face GPT-2's ln_1 on real embedded text."""

import numpy as np

from checker.child.testkit import as_numpy, expect, expect_close, fixture, tensor


def _golden():
    return fixture("golden/step_03.npz")


def _mistakes(g, w=None, b=None) -> dict:
    """What common layer-norm mistakes compute from the same input and weights (default:
    GPT-2's ln_1)."""
    x = g["x"].astype(np.float64)
    w = g["weight"] if w is None else w
    b = g["bias"] if b is None else b
    eps = float(g["eps"])
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    centred = x - mean
    return {
        "the variance is divided by n - 1. Layer norm uses the biased variance (divide by n).":
            centred / np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) * w + b,
        "eps is added outside the square root. It belongs inside: sqrt(var + eps).":
            centred / (np.sqrt(var) + eps) * w + b,
        "the bias is not added. Shift by self.bias after scaling.": centred / np.sqrt(var + eps) * w,
        "the weight does not scale the result. Multiply by self.weight.": centred / np.sqrt(var + eps) + b,
        "eps is not used. Pass the eps given to __init__ (self.eps).": centred / np.sqrt(var + 1e-30) * w + b,
    }


def _build(learner, dim, eps):
    try:
        return learner.LayerNorm(dim, eps=eps)
    except TypeError as exc:
        expect(False, f"LayerNorm({dim}, eps={eps}) failed: {exc}. Keep the signature "
                      "LayerNorm(dim, *, eps=1e-5).")
        return None


def _parameters(module) -> dict:
    try:
        return {name: np.asarray(p.to_numpy()) for name, p in module.parameters}
    except Exception:  # noqa: BLE001 - a learner module may not be a Module at all
        return {}


def test_parameters(learner):
    g = _golden()
    dim = g["x"].shape[-1]
    norm = _build(learner, dim, float(g["eps"]))
    if norm is None:
        return
    params = _parameters(norm)
    for name, start in (("weight", 1.0), ("bias", 0.0)):
        if not expect(name in params, f"LayerNorm has no parameter named `{name}` (found: "
                                      f"{', '.join(params) or 'none'}). GPT-2's ln weights "
                                      "load into `weight` and `bias` by name."):
            continue
        expect(params[name].shape == (dim,),
               f"LayerNorm.{name} has shape {params[name].shape}; expected ({dim},).")
        expect(params[name].shape == (dim,) and np.allclose(params[name], start),
               f"LayerNorm.{name} should start at all {start:g}s (as in Hugging Face).")


def test_fresh_layer_norm(learner):
    """With its starting weight and bias, LayerNorm only normalizes."""
    g = _golden()
    norm = _build(learner, g["x"].shape[-1], float(g["eps"]))
    if norm is not None:
        out = as_numpy(norm(tensor(g["x"])), "LayerNorm(x) before loading weights")
        expect_close("LayerNorm(x) before loading weights", out, g["out_default"],
                     mistakes=_mistakes(g, w=1.0, b=0.0))


def test_matches_gpt2_ln_1(learner):
    """GPT-2's own ln_1 weight and bias, loaded by name, on embedded text."""
    g = _golden()
    norm = _build(learner, g["x"].shape[-1], float(g["eps"]))
    if norm is None:
        return
    try:
        norm.load_state_dict({"weight": tensor(g["weight"]), "bias": tensor(g["bias"])})
    except Exception as exc:  # noqa: BLE001
        expect(False, f"Loading GPT-2's ln_1.weight and ln_1.bias into your LayerNorm failed: "
                      f"{type(exc).__name__}: {exc}")
        return
    out = as_numpy(norm(tensor(g["x"])), "LayerNorm(x) with GPT-2's weights")
    if out is None:
        return
    tokens = g["x"].shape[1] - 1
    mistakes = _mistakes(g)
    if out.shape == g["out"].shape and any(
            np.allclose(out, wrong, atol=1e-4, rtol=1e-4) for wrong in mistakes.values()):
        expect_close("LayerNorm(x) with GPT-2's weights", out, g["out"], mistakes=mistakes)
        return
    expect_close("LayerNorm(x) on the sentence's tokens", out[:, :tokens], g["out"][:, :tokens])
    expect_close("LayerNorm(x) on a near-constant vector (where epsilon matters)",
                 out[:, tokens:], g["out"][:, tokens:])
