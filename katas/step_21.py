"""Kata 21: a mixture of experts, in the Mixtral style.

A router scores every expert for every token; each token goes to its num_experts_per_tok best
experts (SwiGLU networks), whose outputs are added with the router's renormalised weights. The
names are Hugging Face's (transformers 5's MixtralSparseMoeBlock), so its weights load by name.
Read katas/step_21.md, then run `kata check 21`.
"""

from dataclasses import dataclass

from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


@dataclass
class MixtralConfig:
    """The fields of transformers' MixtralConfig a MoE block reads (defaults: Mixtral 8x7B)."""
    hidden_size: int = 4096
    intermediate_size: int = 14336
    num_local_experts: int = 8
    num_experts_per_tok: int = 2


class MixtralTopKRouter(Module):
    """The router, called `gate` in the block: a weight of shape (num_local_experts, hidden_size),
    no bias."""

    def __init__(self, config: MixtralConfig):
        super().__init__()
        self.top_k = config.num_experts_per_tok
        # TODO: self.weight, a Tensor of shape [num_local_experts, hidden_size] (Tensor.zeros)

    def forward(self, hidden_states: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(tokens, hidden) -> (router_logits (tokens, experts), top-k weights (tokens, top_k),
        top-k expert indices (tokens, top_k))."""
        # TODO: logits, softmax over the experts, top_k, divide the k weights by their sum
        return None, None, None


class MixtralExperts(Module):
    """The experts' weights, stacked: gate_up_proj (experts, 2 * intermediate, hidden), the gate
    projection's rows first; down_proj (experts, hidden, intermediate)."""

    def __init__(self, config: MixtralConfig):
        super().__init__()
        self.num_experts = config.num_local_experts
        # TODO: self.gate_up_proj and self.down_proj (Tensor.zeros of those shapes)

    def forward(self, hidden_states: Tensor, top_k_index: Tensor, top_k_weights: Tensor) -> Tensor:
        """(tokens, hidden) -> (tokens, hidden): for each token, the sum over its chosen experts
        of weight * down(silu(gate(x)) * up(x))."""
        # TODO
        return None


class MixtralSparseMoeBlock(Module):
    """gate (the router) and experts; forward maps (batch, seq, hidden) to the same shape."""

    def __init__(self, config: MixtralConfig):
        super().__init__()
        # TODO: self.gate and self.experts

    def forward(self, hidden_states: Tensor) -> Tensor:
        # TODO: flatten to (tokens, hidden), route, run the experts, reshape back
        return None
