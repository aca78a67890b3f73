"""A sparse mixture-of-experts block in the Mixtral style (kata 21), in float64 numpy, with Hugging
Face's parameter names (transformers 5.x MixtralSparseMoeBlock):

    gate.weight           (num_experts, hidden)              the router, a Linear without bias
    experts.gate_up_proj  (num_experts, 2 * intermediate, hidden)   each expert's gate and up
                                                              projections, stacked: gate first
    experts.down_proj     (num_experts, hidden, intermediate)

For every token: router logits x @ gate.weight.T, softmax over the experts, the top_k most
probable experts, their probabilities divided by their sum, and the sum over those experts of
weight * down(silu(gate(x)) * up(x)). tests/test_part3_references.py proves it equal to Hugging
Face's block. The keyword flags reproduce the named mistakes of kata 21.
"""

from __future__ import annotations

import numpy as np

from checker.models.numpy_ops import silu, softmax

NAMES = ("gate.weight", "experts.gate_up_proj", "experts.down_proj")


def as_float64(weights: dict, prefix: str = "") -> dict[str, np.ndarray]:
    """The block's weights (NAMES, found under `prefix`) in float64; numpy_ops.as_float64 converts
    a whole state dict instead."""
    return {name: np.asarray(weights[prefix + name], dtype=np.float64) for name in NAMES}


def router_logits(x: np.ndarray, weights: dict) -> np.ndarray:
    """(tokens, hidden) -> (tokens, num_experts)."""
    return x @ weights["gate.weight"].T


def route(logits: np.ndarray, top_k: int, renormalise: bool = True,
          topk_before_softmax: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, num_experts) router logits -> (weights, experts), each (tokens, top_k), the most
    probable expert first (Hugging Face's torch.topk order).

    Mistakes: renormalise=False keeps the softmax probabilities of the chosen experts (they add
    up to less than 1); topk_before_softmax=True keeps the top_k logits, sets the others to 0
    (not -inf) and takes the softmax over all experts, so unchosen experts still take a share."""
    experts = np.argsort(-logits, axis=-1, kind="stable")[:, :top_k]
    if topk_before_softmax:
        masked = np.zeros_like(logits)
        np.put_along_axis(masked, experts, np.take_along_axis(logits, experts, axis=-1), axis=-1)
        return np.take_along_axis(softmax(masked), experts, axis=-1), experts
    chosen = np.take_along_axis(softmax(logits), experts, axis=-1)
    if renormalise:
        chosen = chosen / chosen.sum(axis=-1, keepdims=True)
    return chosen, experts


def expert(x: np.ndarray, weights: dict, e: int, swap_gate_up: bool = False) -> np.ndarray:
    """Expert e's SwiGLU on (tokens, hidden): down(silu(gate(x)) * up(x)).

    Mistake: swap_gate_up=True takes the two halves of gate_up_proj in the wrong order."""
    gate, up = np.split(x @ weights["experts.gate_up_proj"][e].T, 2, axis=-1)
    if swap_gate_up:
        gate, up = up, gate
    return (silu(gate) * up) @ weights["experts.down_proj"][e].T


def moe(x: np.ndarray, weights: dict, top_k: int = 2, per_sequence: bool = False,
        renormalise: bool = True, topk_before_softmax: bool = False,
        weights_before_experts: bool = False, swap_gate_up: bool = False) -> np.ndarray:
    """The block on (batch, seq, hidden) hidden states.

    Mistakes: top_k=1 (one expert); per_sequence=True chooses the experts and their weights once
    per sequence, from the router logits averaged over its tokens; weights_before_experts=True
    scales each token by its routing weight before the expert (expert(w * x) instead of
    w * expert(x)); the others as in route() and expert()."""
    x = np.asarray(x, dtype=np.float64)
    batch, seq, hidden = x.shape
    logits = router_logits(x.reshape(-1, hidden), weights).reshape(batch, seq, -1)
    if per_sequence:
        logits = np.broadcast_to(logits.mean(axis=1, keepdims=True), logits.shape)
    flat = x.reshape(-1, hidden)
    gates, chosen = route(logits.reshape(batch * seq, -1), top_k, renormalise, topk_before_softmax)
    out = np.zeros_like(flat)
    for slot in range(gates.shape[1]):
        for e in np.unique(chosen[:, slot]):
            rows = np.flatnonzero(chosen[:, slot] == e)
            w = gates[rows, slot, None]
            if weights_before_experts:
                out[rows] += expert(w * flat[rows], weights, int(e), swap_gate_up)
            else:
                out[rows] += w * expert(flat[rows], weights, int(e), swap_gate_up)
    return out.reshape(batch, seq, hidden)


def second_choice_margin(x: np.ndarray, weights: dict, top_k: int) -> float:
    """The smallest gap, over tokens, between the router probabilities of the last chosen expert
    and the first unchosen one: float32 rounding cannot change the choice when it is well above
    1e-6 (a near-tie would make a correct float32 block pick a different expert)."""
    x = np.asarray(x, dtype=np.float64)
    probs = softmax(router_logits(x.reshape(-1, x.shape[-1]), weights))
    ordered = -np.sort(-probs, axis=-1)
    if top_k >= ordered.shape[-1]:
        return np.inf
    return float((ordered[:, top_k - 1] - ordered[:, top_k]).min())


def random_weights(rng: np.random.Generator, hidden: int, intermediate: int, num_experts: int,
                   router_std: float, expert_std: float) -> dict[str, np.ndarray]:
    """Weights in Hugging Face's names and shapes, float32, for fresh inputs."""
    return {
        "gate.weight": (rng.standard_normal((num_experts, hidden)) * router_std).astype(np.float32),
        "experts.gate_up_proj": (rng.standard_normal((num_experts, 2 * intermediate, hidden))
                                 * expert_std).astype(np.float32),
        "experts.down_proj": (rng.standard_normal((num_experts, hidden, intermediate))
                              * expert_std).astype(np.float32),
    }
