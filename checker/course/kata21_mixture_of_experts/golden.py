"""Kata 21's golden data, from Hugging Face's own MixtralSparseMoeBlock (maintainers only:
`kata dev fixtures`).

A tiny Mixtral MoE block (hidden 32, intermediate 48, 8 experts, 2 per token), every weight drawn
from a fixed seed at a scale that makes the routing informative: the router's probabilities
range from near-even to one expert dominating, so renormalising, top-1 and per-sequence routing
all change the output by far more than float32 rounding. Tokens whose four most probable experts
are not 1e-3 apart are redrawn: there float32 rounding could pick a different expert. Also the
same block with 3 experts per token (out_top3).
"""

import numpy as np

FAMILY = "part3"  # needs no model from the family: the block is built here

SEED = 20261202
CONFIG = dict(hidden_size=32, intermediate_size=48, num_local_experts=8, num_experts_per_tok=2,
              hidden_act="silu")
ROUTER_STD = 0.35  # router logits with std ~2: from near-even to one expert dominating
EXPERT_STD = 0.3
X_SHAPE = (2, 7, 32)  # two sequences of seven tokens
CHOICE_MARGIN = 1e-3


def tiny_block(**changes):
    """The seeded MixtralSparseMoeBlock (eval mode, eager experts); `changes` to the config keep
    the weights."""
    import torch
    from transformers import MixtralConfig
    from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock

    config = MixtralConfig(**{**CONFIG, **changes}, router_jitter_noise=0.0)
    torch.manual_seed(SEED)
    block = MixtralSparseMoeBlock(config)
    generator = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, param in block.named_parameters():
            std = ROUTER_STD if name.startswith("gate.") else EXPERT_STD
            param.copy_(torch.randn(param.shape, generator=generator) * std)
    return block.eval()


def hidden_states(block, shape=X_SHAPE, seed=SEED) -> np.ndarray:
    """Inputs whose top-2 choice no float32 rounding can change (see CHOICE_MARGIN)."""
    from checker.models import moe as ref

    weights = ref.as_float64({k: v.detach().numpy() for k, v in block.state_dict().items()})
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    for _ in range(1000):
        flat = x.reshape(-1, shape[-1])
        probs = ref.softmax(ref.router_logits(flat.astype(np.float64), weights))
        ordered = -np.sort(-probs, axis=-1)
        # clear choices for 2 experts per token and for 3 (the second golden output), and for 1
        bad = (np.diff(-ordered[:, :4], axis=-1) <= CHOICE_MARGIN).any(axis=-1)
        if not bad.any():
            return x
        flat[bad] = rng.standard_normal((int(bad.sum()), shape[-1])).astype(np.float32)
    raise RuntimeError("could not draw tokens with a clear choice of experts")


def golden_moe(model, tok) -> dict:
    import torch

    from checker.models.gpt2_golden import to_numpy

    block = tiny_block()
    x = hidden_states(block)
    with torch.no_grad():
        out = block(torch.from_numpy(x))
        logits, scores, indices = block.gate(torch.from_numpy(x).reshape(-1, x.shape[-1]))
    arrays = {"x": x, "out": to_numpy(out), "router_logits": to_numpy(logits),
              "router_scores": to_numpy(scores), "router_indices": indices.numpy().astype(np.int64)}
    arrays.update({name: to_numpy(t) for name, t in block.state_dict().items()})
    # the same weights with 3 experts per token: a block that hardcodes 2 (or 1) is seen
    three = tiny_block(num_experts_per_tok=3)
    with torch.no_grad():
        arrays["out_top3"] = to_numpy(three(torch.from_numpy(x)))
    arrays.update({f"config.{k}": np.array(v) for k, v in CONFIG.items() if k != "hidden_act"})
    return {"npz": arrays}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_21.npz": golden_moe}
