"""Kata 8: the pre-norm residual connection, x + sublayer(ln(x)), as in GPT-2's blocks.

The sublayer handed to ResidualBlock is a stand-in that records what it receives and returns
GPT-2's real attention output, so this kata checks the wiring alone, independent of kata 7.
"""

import numpy as np

from checker.models import gpt2 as reference
from checker.child.testkit import build, expect, expect_close, fixture, run, tensor
from checker.models.gpt2_kit import tiny_config


def _golden():
    return fixture("golden/step_08.npz")


def _replay(g):
    from max.experimental.nn import Module

    class RecordingSublayer(Module):
        """Returns GPT-2's attention output for block 0 and remembers its input."""

        def __init__(self):
            super().__init__()
            self.inputs = []

        def forward(self, x):
            self.inputs.append(x.to_numpy())
            return tensor(g["sublayer"])

    return RecordingSublayer()


def test_apply_residual_connection(learner):
    g = _golden()
    out = run("apply_residual_connection(x, sublayer_output)",
              lambda: learner.apply_residual_connection(tensor(g["x"]), tensor(g["sublayer"])))
    expect_close("apply_residual_connection(x, sublayer_output)", out, g["out"])


def test_residual_block(learner):
    g = _golden()
    config = tiny_config()
    sublayer = _replay(g)
    block = build("ResidualBlock(n_embd, sublayer, eps)",
                  lambda: learner.ResidualBlock(config.n_embd, sublayer, config.layer_norm_epsilon))
    if block is None:
        return
    weights = fixture("weights.npz")
    try:
        block.load_state_dict({"ln.weight": tensor(weights["transformer.h.0.ln_1.weight"]),
                               "ln.bias": tensor(weights["transformer.h.0.ln_1.bias"])})
    except Exception as exc:  # noqa: BLE001
        expect(False, "Loading GPT-2's ln_1 weights into ResidualBlock.ln failed "
                      f"({type(exc).__name__}: {exc}). Keep the layer norm in an attribute named "
                      "`ln` (your kata 3 LayerNorm) and store the sublayer as `sublayer`.")
        return
    out = run("ResidualBlock(x)", lambda: block(tensor(g["x"])))
    if out is None:
        return
    if not expect(len(sublayer.inputs) == 1,
                  f"ResidualBlock called its sublayer {len(sublayer.inputs)} times; call it once."):
        return
    expect_close("the sublayer's input (should be ln(x))", sublayer.inputs[0], g["normed"], mistakes={
        "the sublayer receives x itself. GPT-2 is pre-norm: pass ln(x) to the sublayer.": g["x"],
    })
    x = g["x"].astype(np.float64)
    ln = lambda t: reference.layer_norm(  # noqa: E731
        t, weights["transformer.h.0.ln_1.weight"], weights["transformer.h.0.ln_1.bias"])
    expect_close("ResidualBlock(x)", out, g["out"], mistakes={
        "the residual is missing: return x + sublayer(ln(x)), not sublayer(ln(x)) alone.": g["sublayer"],
        "the normalized x is added back. The residual adds the original x: x + sublayer(ln(x)).":
            g["normed"] + g["sublayer"],
        "the norm comes after the addition (post-norm). GPT-2 normalizes the sublayer's input only.":
            ln(x + g["sublayer"]),
    })
