"""Kata 13: LlamaConfig holds SmolLM2-135M's configuration, and RMSNorm matches Hugging Face's
LlamaRMSNorm: on real embeddings, and on the same embeddings times 0.01, where eps matters."""

import numpy as np

from checker.models import llama
from checker.models.llama_kit import SMOLLM2_135M, tiny_values
from checker.child.testkit import FAILED, attempt, build, expect, expect_close, fixture, run, tensor


def _golden():
    return fixture("golden/step_13.npz")


def _config_values(config) -> dict:
    return {field: getattr(config, field, None) for field in SMOLLM2_135M}


def test_config_defaults(learner):
    config = attempt("LlamaConfig()", lambda: learner.LlamaConfig())
    if config is FAILED:
        return
    for field, want in SMOLLM2_135M.items():
        got = getattr(config, field, None)
        ok = got == want if isinstance(want, bool) else (
            isinstance(got, (int, float)) and not isinstance(got, bool) and np.isclose(got, want))
        expect(ok, f"LlamaConfig().{field} is {got!r}; SmolLM2-135M's is {want!r}.")
    head_dim = attempt("LlamaConfig().head_dim", lambda: config.head_dim)
    if head_dim is not FAILED:
        expect(head_dim == 64, f"LlamaConfig().head_dim is {head_dim!r}; SmolLM2-135M's is 64 "
                               "(hidden_size // num_attention_heads = 576 // 9).")


def test_config_keeps_its_arguments(learner):
    values = tiny_values()
    config = attempt("LlamaConfig(...)", lambda: learner.LlamaConfig(**values))
    if config is FAILED:
        return
    kept = _config_values(config)
    wrong = [f for f in values if kept.get(f) != values[f]]
    expect(not wrong, "LlamaConfig(...) did not keep " + ", ".join(
        f"{f}={values[f]!r} (has {kept.get(f)!r})" for f in wrong) + ".")
    head_dim = attempt("LlamaConfig(...).head_dim", lambda: config.head_dim)
    want = values["hidden_size"] // values["num_attention_heads"]
    if head_dim is not FAILED:
        expect(head_dim == want, f"head_dim of a config with hidden_size {values['hidden_size']} and "
                                 f"{values['num_attention_heads']} heads is {head_dim!r}; expected {want}.")


def test_parameters(learner):
    norm = build("RMSNorm(64)", lambda: learner.RMSNorm(64))
    if norm is None:
        return
    try:
        params = dict(norm.parameters)
    except Exception:  # noqa: BLE001
        expect(False, "RMSNorm is not a MAX Module (it has no .parameters).")
        return
    if not expect(set(params) == {"weight"}, f"RMSNorm's parameters are {sorted(params)}; Hugging "
                                            "Face's LlamaRMSNorm has exactly one, `weight` (no bias)."):
        return
    weight = run("RMSNorm(64).weight", lambda: params["weight"])
    if weight is not None:
        expect(weight.shape == (64,) and np.all(weight == 1), "RMSNorm(64).weight should start as "
               f"ones of shape (64,); it is {weight.shape} with values from {weight.min():g} to {weight.max():g}.")


def _mistakes(x, g) -> dict:
    wrong = lambda **flag: llama.rms_norm(x.astype(np.float64), g["weight"], float(g["eps"]), **flag)  # noqa: E731
    return {
        "the mean is subtracted first: that is LayerNorm. RMSNorm divides by the root mean square "
        "alone: x / sqrt(mean(x^2) + eps).": wrong(norm_subtracts_mean=True),
        "eps is added outside the square root. Put it inside: x / sqrt(mean(x^2) + eps).":
            wrong(norm_eps_outside_root=True),
        "the output is scaled by (1 + weight), Gemma's convention. Llama scales by weight.":
            wrong(norm_one_plus_weight=True),
    }


def _norm(learner, g, eps=True):
    eps_value = float(g["eps"])
    what = f"RMSNorm({g['weight'].shape[0]}" + (f", eps={eps_value:g})" if eps else ")")
    norm = build(what, (lambda: learner.RMSNorm(g["weight"].shape[0], eps=eps_value)) if eps
                 else (lambda: learner.RMSNorm(g["weight"].shape[0])))
    if norm is None:
        return None
    loaded = attempt(f"{what}.load_state_dict", lambda: norm.load_state_dict({"weight": tensor(g["weight"])}))
    return None if loaded is FAILED else norm


def test_matches_hf_rms_norm(learner):
    g = _golden()
    norm = _norm(learner, g)
    if norm is None:
        return
    out = run("RMSNorm(x)", lambda: norm(tensor(g["x"])))
    expect_close("RMSNorm(x) on real embeddings", out, g["out"], mistakes=_mistakes(g["x"], g))


def test_small_inputs_where_eps_matters(learner):
    g = _golden()
    norm = _norm(learner, g)
    if norm is None:
        return
    out = run("RMSNorm(0.01 * x)", lambda: norm(tensor(g["x_small"])))
    expect_close("RMSNorm(x) on embeddings times 0.01", out, g["out_small"],
                 mistakes=_mistakes(g["x_small"], g))


def test_default_eps(learner):
    """RMSNorm(dim) without eps uses 1e-5 (MAX's own nn.RMSNorm defaults to 1e-6)."""
    g = _golden()
    norm = _norm(learner, g, eps=False)
    if norm is None:
        return
    out = run("RMSNorm(dim)(0.01 * x)", lambda: norm(tensor(g["x_small"])))
    wrong = {"the default eps is not 1e-5 (1e-6 is MAX's nn.RMSNorm default): give RMSNorm's eps "
             "parameter the default 1e-5.": llama.rms_norm(g["x_small"].astype(np.float64), g["weight"], 1e-6)}
    expect_close("RMSNorm(dim) with its default eps, on embeddings times 0.01", out, g["out_small"],
                 mistakes=wrong)
