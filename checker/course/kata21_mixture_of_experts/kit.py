"""Kata 21's helpers, shared by its hidden tests, its fresh-input spec (parent and child) and
tests/test_part3_references.py: the tolerance, what each named mistake computes (from the numpy
reference, checker/models/moe.py), and building the learner's block with given weights. numpy
only at import: the parent never loads MAX."""

from __future__ import annotations

import numpy as np

from checker.models import moe

# float32 MAX against float32 Hugging Face on outputs of size ~3 (up to ~15): measured within
# 5e-6; the closest named mistake is off by 2.7 (tests/test_part3_references.py prints them).
ATOL = RTOL = 1e-4

PER_SEQUENCE = ("the experts were chosen once per sequence (from its averaged router logits) "
                "instead of for each token. Route every token on its own: router logits, softmax "
                "and top-k per token.")
NOT_RENORMALISED = ("the chosen experts' weights were not renormalised: they are the softmax "
                    "probabilities of the top-k experts and add up to less than 1. Divide them by "
                    "their sum.")
TOPK_BEFORE_SOFTMAX = ("the top-k was taken before the softmax with the other experts' logits set "
                       "to 0 instead of -inf, so experts that were not chosen still take a share "
                       "of the weight. Softmax over all experts, then top-k, then divide by the sum "
                       "(or: softmax over only the k chosen logits, which gives the same weights).")
TOP_1 = ("only one expert was used per token. Mixtral routes each token to "
         "config.num_experts_per_tok experts and adds their outputs, weighted.")
WEIGHTS_BEFORE = ("the routing weight was applied to the token before the expert (expert(w * x)) "
                  "instead of to the expert's output (w * expert(x)). SwiGLU is not linear: scale "
                  "what the expert returns.")
SWAPPED = ("the two halves of gate_up_proj are swapped: its first intermediate_size rows are the "
           "gate (through SiLU), the next intermediate_size rows the up projection.")
HARDCODED_K = ("the number of experts per token is fixed in your code: use "
               "config.num_experts_per_tok.")


def mistakes(x: np.ndarray, weights: dict, top_k: int) -> dict[str, np.ndarray]:
    """advice -> what the block computes with that mistake (float64), most specific first."""
    found = {
        PER_SEQUENCE: moe.moe(x, weights, top_k, per_sequence=True),
        NOT_RENORMALISED: moe.moe(x, weights, top_k, renormalise=False),
        TOPK_BEFORE_SOFTMAX: moe.moe(x, weights, top_k, topk_before_softmax=True),
        WEIGHTS_BEFORE: moe.moe(x, weights, top_k, weights_before_experts=True),
        SWAPPED: moe.moe(x, weights, top_k, swap_gate_up=True),
    }
    if top_k != 1:
        found[TOP_1] = moe.moe(x, weights, 1)
    for k in (1, 2):
        if k != top_k:
            found.setdefault(HARDCODED_K if k == 2 else TOP_1, moe.moe(x, weights, k))
    return found


def config_of(arrays: dict) -> dict:
    """The MixtralConfig fields stored as config.NAME arrays (golden file or fresh inputs)."""
    return {k[len("config."):]: int(arrays[k]) for k in arrays if k.startswith("config.")}


def build_block(learner, config: dict, weights: dict, what: str):
    """The learner's MixtralSparseMoeBlock(MixtralConfig(**config)) with `weights` loaded by name
    (None, recorded, when that fails)."""
    from checker.child.testkit import build, load_named, tensor

    fields = ", ".join(f"{k}={v}" for k, v in config.items())
    block = build(f"MixtralSparseMoeBlock(MixtralConfig({fields}))",
                  lambda: learner.MixtralSparseMoeBlock(learner.MixtralConfig(**config)))
    if block is None:
        return None
    state = {name: tensor(np.asarray(weights[name], dtype=np.float32)) for name in moe.NAMES}
    return block if load_named(block, state, what, "Hugging Face's MixtralSparseMoeBlock") else None
