"""Kata 21: a sparse mixture-of-experts block in the Mixtral style, with Hugging Face's names."""
from dataclasses import dataclass

from max.experimental import functional as F
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
    """The router ("gate"): a bias-free linear map from a token to one logit per expert."""

    def __init__(self, config: MixtralConfig):
        super().__init__()
        self.top_k = config.num_experts_per_tok
        self.weight = Tensor.zeros([config.num_local_experts, config.hidden_size])

    def forward(self, hidden_states: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(tokens, hidden) -> router logits (tokens, experts), and for each token the weights
        (tokens, top_k) and indices (tokens, top_k) of its top_k experts, most probable first."""
        router_logits = hidden_states @ self.weight.T
        probs = F.softmax(router_logits)  # over ALL experts: each token's preferences
        top_weights, top_indices = F.top_k(probs, self.top_k, axis=-1)
        # renormalise: the chosen experts share the whole token, their weights add up to 1
        top_weights = top_weights / F.sum(top_weights, axis=-1)
        return router_logits, top_weights, top_indices


class MixtralExperts(Module):
    """num_local_experts SwiGLU networks, their weights stacked as Hugging Face stores them:
    gate_up_proj (experts, 2 * intermediate, hidden), gate rows first; down_proj (experts,
    hidden, intermediate)."""

    def __init__(self, config: MixtralConfig):
        super().__init__()
        experts, hidden, inner = (config.num_local_experts, config.hidden_size,
                                  config.intermediate_size)
        self.num_experts = experts
        self.gate_up_proj = Tensor.zeros([experts, 2 * inner, hidden])
        self.down_proj = Tensor.zeros([experts, hidden, inner])

    def forward(self, hidden_states: Tensor, top_k_index: Tensor, top_k_weights: Tensor) -> Tensor:
        """(tokens, hidden) -> (tokens, hidden): each token's experts' outputs, weighted, summed."""
        tokens = int(hidden_states.shape[0])
        # Each token's weight for every expert, 0 for the experts it was not routed to.
        routing = F.scatter(F.zeros([tokens, self.num_experts], device=hidden_states.device),
                            top_k_weights, top_k_index, axis=-1)  # (tokens, experts)
        # Every expert on every token, batched over the experts: on a tiny model one batched
        # matmul costs less than picking rows; the result is the same, because an expert a
        # token did not choose is multiplied by 0. (Real engines run each expert only on its
        # own tokens: that is what makes a MoE cheap.)
        gate_up = hidden_states @ self.gate_up_proj.transpose(1, 2)  # (experts, tokens, 2*inner)
        gate, up = F.chunk(gate_up, 2, axis=-1)
        out = (F.silu(gate) * up) @ self.down_proj.transpose(1, 2)  # (experts, tokens, hidden)
        weights = routing.transpose(0, 1).reshape([self.num_experts, tokens, 1])
        return F.sum(out * weights, axis=0).reshape([tokens, int(hidden_states.shape[1])])


class MixtralSparseMoeBlock(Module):
    """Mixtral's feed-forward: a router picks num_experts_per_tok experts per token."""

    def __init__(self, config: MixtralConfig):
        super().__init__()
        self.gate = MixtralTopKRouter(config)
        self.experts = MixtralExperts(config)

    def forward(self, hidden_states: Tensor) -> Tensor:
        batch, seq, hidden = hidden_states.shape
        tokens = hidden_states.reshape([int(batch) * int(seq), int(hidden)])  # route per TOKEN
        _, top_k_weights, top_k_index = self.gate(tokens)
        out = self.experts(tokens, top_k_index, top_k_weights)
        return out.reshape([int(batch), int(seq), int(hidden)])
