"""Kata 9: GPT2Block matches block 0 of Hugging Face's GPT-2 (pre-norm, two residuals)."""

import numpy as np

from checker import diagnose
from checker.models import gpt2 as reference
from checker.child.testkit import expect, expect_close, fixture, once, run, tensor
from checker.models.gpt2_kit import gpt2_module, tiny_config

PREFIX = "transformer.h.0."


def _block(learner):
    """Built and loaded once per check (the failures it recorded are replayed for each test)."""
    config = tiny_config()
    return once("block", lambda: gpt2_module("GPT2Block(config)", lambda: learner.GPT2Block(config),
                                             PREFIX))


def _mistakes(x) -> dict:
    weights = reference.as_float64(fixture("weights.npz"))
    x = x.astype(np.float64)
    wrong = lambda **kw: reference.block(x, weights, PREFIX, tiny_config().n_head, **kw)  # noqa: E731
    return {
        "the norms come after the additions (post-norm). GPT-2 is pre-norm: "
        "x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)).": wrong(prenorm=False),
        "the residual connections are missing: add each sublayer's input back to its output.":
            wrong(residual=False),
        "ln_1 and ln_2 are swapped: ln_1 goes before attention, ln_2 before the MLP.":
            wrong(swap_norms=True),
    }


def _halfway(block, g) -> str | None:
    """Which half differs: x + attn(ln_1(x)) from the learner's own parts, if they exist."""
    try:
        middle = (tensor(g["x"]) + block.attn(block.ln_1(tensor(g["x"])))).to_numpy()
    except Exception:  # noqa: BLE001 - parts named otherwise: nothing more to say
        return None
    problem = diagnose.compare("x + attn(ln_1(x))", middle, g["after_attn"])
    return (f"Your ln_1 and attn already differ from GPT-2: {problem}" if problem else
            "Your ln_1 and attn give GPT-2's x + attn(ln_1(x)), so look after that point: "
            "the MLP half, or how forward() connects the parts.")


def test_parameter_names(learner):
    """ln_1, attn, ln_2 and mlp by GPT-2's names: block 0's weights load (a mismatch is said by
    name when loading)."""
    _block(learner)


def test_halfway_point(learner):
    """x + attn(ln_1(x)), from your block's own ln_1 and attn: GPT-2's hidden state after the
    attention half of block 0."""
    g = fixture("golden/step_09.npz")
    block = _block(learner)
    if block is None:
        return
    x = tensor(g["x"])
    out = run("x + attn(ln_1(x))", lambda: x + block.attn(block.ln_1(x)))
    expect_close("the halfway point x + attn(ln_1(x))", out, g["after_attn"])


def test_matches_gpt2_block(learner):
    g = fixture("golden/step_09.npz")
    block = _block(learner)
    if block is None:
        return
    out = run("GPT2Block(x)", lambda: block(tensor(g["x"])))
    mistakes = _mistakes(g["x"])
    if out is not None and not expect_close("GPT2Block(x)", out, g["out"], mistakes=mistakes):
        where = None if diagnose.recognise(out, mistakes) else _halfway(block, g)
        if where:
            expect(False, where)


def test_batch_of_two(learner):
    g = fixture("golden/step_09.npz")
    block = _block(learner)
    if block is None:
        return
    x = np.ascontiguousarray(np.concatenate([g["x"], g["x"][:, :, ::-1]], axis=0))
    out = run("GPT2Block(x) on a batch of 2", lambda: block(tensor(x)))
    if out is not None:
        expect_close("GPT2Block(x), first sequence of a batch of 2", out[:1] if out.ndim == 3 else out,
                     g["out"], mistakes=_mistakes(g["x"]))
