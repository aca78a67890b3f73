"""Runs the learner's code on inputs the parent made up for this check, and saves what it returns.

Nothing is compared here: the parent judges the saved outputs (checker/fresh.py), out of reach
of the learner's process. A learner error is reported here, like in any hidden test.
"""

import os

import numpy as np

from checker import fresh, plugin
from checker.testkit import (FAILED, attempt, build, expect, fixture, gpt2_module, ids_tensor,
                             once, run, tensor, tiny_config)


def _config(learner, inputs):
    default = attempt("GPT2Config()", lambda: learner.GPT2Config())
    values = inputs["custom"]
    kwargs = {field: (float(v) if field == "layer_norm_epsilon" else int(v))
              for field, v in zip(fresh.CONFIG_FIELDS, values)}
    custom = attempt("GPT2Config(...)", lambda: learner.GPT2Config(**kwargs))
    if FAILED in (default, custom):
        return None
    rows = {}
    for name, config in (("default", default), ("custom", custom)):
        values = [getattr(config, field, None) for field in fresh.CONFIG_FIELDS]
        wrong = [f for f, v in zip(fresh.CONFIG_FIELDS, values)
                 if isinstance(v, bool) or not isinstance(v, (int, float))]
        if not expect(not wrong, f"GPT2Config{'()' if name == 'default' else '(...)'} has no number "
                                 f"in {', '.join(wrong)}: every field must hold a number."):
            return None
        rows[name] = np.array(values, dtype=np.float64)
    return rows


def _mask(learner, inputs):
    from max.driver import CPU
    from max.dtype import DType

    seq, past = int(inputs["seq"]), int(inputs["past"])
    return _out(f"causal_mask({seq}, {past})",
                lambda: learner.causal_mask(seq, past, dtype=DType.float32, device=CPU()), "mask")


def _layer_norm(learner, inputs):
    dim, eps = inputs["x"].shape[-1], float(inputs["eps"])
    norm = build(f"LayerNorm({dim}, eps={eps:g})", lambda: learner.LayerNorm(dim, eps=eps))
    if norm is None:
        return None
    loaded = attempt("LayerNorm.load_state_dict", lambda: norm.load_state_dict(
        {"weight": tensor(inputs["weight"]), "bias": tensor(inputs["bias"])}))
    return None if loaded is FAILED else _out("LayerNorm(x)", lambda: norm(tensor(inputs["x"])))


def _out(what, call, name="out"):
    value = run(what, call)
    return None if value is None else {name: value}


def _module(learner, number, inputs):
    """Katas 4-7, 9-11: build the learner's module, load GPT-2's weights, run it once."""
    config = tiny_config()
    layer = f"transformer.h.{int(inputs['layer'])}." if "layer" in inputs else ""
    factories = {
        4: ("GPT2MLP", lambda: learner.GPT2MLP(4 * config.n_embd, config), layer + "mlp.", ("",)),
        5: ("GPT2Embeddings", lambda: learner.GPT2Embeddings(config), "transformer.", ("wte.",)),
        6: ("GPT2PositionEmbeddings", lambda: learner.GPT2PositionEmbeddings(config),
            "transformer.", ("wpe.",)),
        7: ("GPT2MultiHeadAttention", lambda: learner.GPT2MultiHeadAttention(config),
            layer + "attn.", ("",)),
        9: ("GPT2Block", lambda: learner.GPT2Block(config), layer, ("",)),
        10: ("GPT2Model", lambda: learner.GPT2Model(config), "transformer.",
             ("wte.", "wpe.", "h.", "ln_f.")),
        11: ("MaxGPT2LMHeadModel", lambda: learner.MaxGPT2LMHeadModel(config), "", ("",)),
    }
    name, factory, prefix, keep = factories[number]
    make = lambda: gpt2_module(f"{name}(config)", factory, prefix, keep)  # noqa: E731
    # Katas 10 and 11's hidden tests built this very model already: the same key reuses it.
    module = once("model", make) if number in (10, 11) else make()
    if module is None:
        return None
    given = tensor(inputs["x"]) if "x" in inputs else ids_tensor(inputs["ids"])
    outputs = _out(f"{name}(fresh input)", lambda: module(given))
    if outputs and number == 6 and outputs["out"].ndim == 3 and outputs["out"].shape[0] == 1:
        outputs["out"] = outputs["out"][0]  # (1, T, n_embd) broadcasts like (T, n_embd)
    return outputs


def _residual(learner, inputs):
    from max.experimental.nn import Module

    class Affine(Module):
        """A stand-in sublayer: scale * input + shift, so the parent can tell what it was fed."""

        def forward(self, t):
            return t * tensor(inputs["scale"]) + tensor(inputs["shift"])

    config = tiny_config()
    x = tensor(inputs["x"])
    residual = run("apply_residual_connection(x, sublayer_output)",
                   lambda: learner.apply_residual_connection(x, tensor(inputs["sublayer_output"])))
    block = build("ResidualBlock(n_embd, sublayer, eps)",
                  lambda: learner.ResidualBlock(config.n_embd, Affine(), config.layer_norm_epsilon))
    if residual is None or block is None:
        return None
    layer = f"transformer.h.{int(inputs['layer'])}.ln_1."
    weights = fixture("weights.npz")
    loaded = attempt("ResidualBlock.load_state_dict", lambda: block.load_state_dict(
        {"ln.weight": tensor(weights[layer + "weight"]), "ln.bias": tensor(weights[layer + "bias"])}))
    if loaded is FAILED:
        return None
    out = run("ResidualBlock(x)", lambda: block(x))
    return None if out is None else {"residual": residual, "block": out}


def _generation(learner, inputs):
    from checker.hidden.test_step_12 import _fixed_logits_model, _recording_model, _token

    model = _recording_model()  # the kata 11 model the hidden tests built, each forward batched
    if model is None:
        return None
    greedy = run("generate_tokens(model, fresh prompt, do_sample=False)",
                 lambda: learner.generate_tokens(model, ids_tensor(inputs["prompt"]),
                                                 max_new_tokens=fresh.GREEDY_NEW_TOKENS,
                                                 temperature=1.0, do_sample=False), batch=False)
    if greedy is None:
        return None
    temperature = float(inputs["temperature"])
    fixed = _fixed_logits_model(inputs["logits"])
    ids = ids_tensor(inputs["prompt"])
    np.random.seed(int(inputs["seed"]))
    draws = []
    for _ in range(fresh.SAMPLE_DRAWS):
        value = attempt(f"generate_next_token(..., temperature={temperature:.2f}, do_sample=True)",
                        lambda: learner.generate_next_token(fixed, ids, temperature=temperature,
                                                            do_sample=True))
        token = None if value is FAILED else _token(value, "generate_next_token(..., do_sample=True)")
        if token is None:
            return None
        draws.append(token)
    return {"greedy": greedy, "draws": np.array(draws, dtype=np.int64)}


def test_fresh_inputs(learner):
    """Your code on inputs made up for this check (the parent process judges the outputs)."""
    paths = plugin.fresh_paths()
    if paths is None:
        return  # run by hand, outside a check: nothing to save
    inputs = fresh.load(paths[0])
    assert inputs is not None, "the check's fresh inputs are missing"
    number = int(os.environ["KATA_MODULE"].rsplit("_", 1)[-1])
    runners = {1: _config, 2: _mask, 3: _layer_norm, 8: _residual, 12: _generation}
    outputs = runners[number](learner, inputs) if number in runners else _module(learner, number, inputs)
    if outputs is not None:
        fresh.save(paths[1], outputs)
