"""Kata 21: MixtralSparseMoeBlock matches Hugging Face's on a tiny Mixtral block.

The verdict comes from forward() alone, so any correct way of writing the block passes (every
expert on every token, or only the chosen ones; top-k then softmax over the k chosen logits or
softmax then top-k and renormalise). When forward differs, the skeleton's router and experts
(where they keep Hugging Face's signatures) are compared with Hugging Face's to say which part
goes wrong, and the output is compared with what each named mistake computes.
"""

import numpy as np

from checker import diagnose
from checker.models import moe
from checker.child.testkit import expect, expect_close, fixture, once, run, tensor

from . import kit


def _golden():
    return fixture("golden/step_21.npz")


def _block(learner):
    g = _golden()
    return once("block", lambda: kit.build_block(learner, kit.config_of(g), g,
                                                 "MixtralSparseMoeBlock"))


def _weights():
    return moe.as_float64(_golden())


def test_parameter_names(learner):
    """gate.weight, experts.gate_up_proj, experts.down_proj: Hugging Face's state dict loads."""
    _block(learner)


def _first_wrong_part(block, g) -> str | None:
    """The router, then the experts given Hugging Face's routing, against Hugging Face's."""
    x = g["x"].reshape(-1, g["x"].shape[-1])
    try:
        routed = block.gate(tensor(x))
    except Exception as exc:  # noqa: BLE001 - a restructured block: nothing to compare
        return None if isinstance(exc, (TypeError, AttributeError)) else \
            f"gate(tokens) raised {type(exc).__name__}: {exc}"
    try:
        parts = [p.to_numpy() for p in routed] if isinstance(routed, (tuple, list)) else \
            [routed.to_numpy()]
    except Exception:  # noqa: BLE001
        return None
    problem = diagnose.compare("the router's logits, gate(tokens)[0]", parts[0], g["router_logits"])
    if problem or len(parts) != 3:
        return problem
    weights, indices = parts[1], parts[2]
    if weights.shape == g["router_scores"].shape and indices.shape == g["router_indices"].shape:
        order = np.argsort(-weights, axis=-1, kind="stable")  # most probable first, as HF
        weights = np.take_along_axis(weights, order, axis=-1)
        indices = np.take_along_axis(indices, order, axis=-1)
        if not np.array_equal(indices, g["router_indices"]):
            token = int(np.flatnonzero((indices != g["router_indices"]).any(axis=-1))[0])
            return (f"the router chose experts {indices[token].tolist()} for token {token}; "
                    f"Hugging Face's chooses {g['router_indices'][token].tolist()} (the "
                    "num_experts_per_tok most probable).")
    problem = diagnose.compare("the router's weights, gate(tokens)[1]", weights, g["router_scores"])
    if problem:
        return problem
    try:
        out = block.experts(tensor(x), tensor(g["router_indices"]),
                            tensor(g["router_scores"])).to_numpy()
    except Exception:  # noqa: BLE001 - experts with another signature: nothing to compare
        return None
    return diagnose.compare("experts(tokens, Hugging Face's indices and weights)", out,
                            g["out"].reshape(out.shape) if out.size == g["out"].size else g["out"])


def test_matches_hugging_face(learner):
    g = _golden()
    block = _block(learner)
    if block is None:
        return
    out = run("MixtralSparseMoeBlock(x)", lambda: block(tensor(g["x"])))
    if out is None:
        return
    k = int(g["config.num_experts_per_tok"])
    right = expect_close("MixtralSparseMoeBlock(x)", out, g["out"], atol=kit.ATOL, rtol=kit.RTOL,
                         mistakes=kit.mistakes(g["x"], _weights(), k))
    if not right:
        part = _first_wrong_part(block, g)
        expect(part is None, f"The first part that differs from Hugging Face's: {part}")


def test_each_token_is_routed_on_its_own(learner):
    """The same 14 tokens as one sequence, or as 14 sequences of one: each token's output must
    not change (Mixtral routes every token by itself)."""
    g = _golden()
    block = _block(learner)
    if block is None:
        return
    hidden, k = g["x"].shape[-1], int(g["config.num_experts_per_tok"])
    for shape in ((1, 14, hidden), (14, 1, hidden)):
        x = np.ascontiguousarray(g["x"].reshape(shape))
        what = f"MixtralSparseMoeBlock(x) on the same tokens shaped {shape}"
        out = run(what, lambda: block(tensor(x)))
        if out is None or not expect_close(what, out, g["out"].reshape(shape), atol=kit.ATOL,
                                           rtol=kit.RTOL, mistakes=kit.mistakes(x, _weights(), k)):
            return


def test_three_experts_per_token(learner):
    """The same weights with num_experts_per_tok=3: Hugging Face's block with that config."""
    g = _golden()
    config = {**kit.config_of(g), "num_experts_per_tok": 3}
    block = kit.build_block(learner, config, g, "MixtralSparseMoeBlock (3 experts per token)")
    if block is None:
        return
    out = run("MixtralSparseMoeBlock(x) with num_experts_per_tok=3", lambda: block(tensor(g["x"])))
    if out is not None:
        expect_close("MixtralSparseMoeBlock(x) with num_experts_per_tok=3", out, g["out_top3"],
                     atol=kit.ATOL, rtol=kit.RTOL, mistakes=kit.mistakes(g["x"], _weights(), 3))
