"""Kata 9: the transformer block."""
from max.experimental.nn import Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_03 import LayerNorm
from katas.step_04 import GPT2MLP
from katas.step_07 import GPT2MultiHeadAttention
from katas.step_08 import apply_residual_connection


class GPT2Block(Module):
    """ln_1 -> attn -> residual, then ln_2 -> mlp -> residual."""

    def __init__(self, config: GPT2Config):
        hidden_size = config.n_embd
        inner_dim = config.n_inner if config.n_inner is not None else 4 * hidden_size
        self.ln_1 = LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.attn = GPT2MultiHeadAttention(config)
        self.ln_2 = LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(inner_dim, config)

    def forward(self, hidden_states: Tensor) -> Tensor:
        hidden_states = apply_residual_connection(
            hidden_states, self.attn(self.ln_1(hidden_states))
        )
        return apply_residual_connection(
            hidden_states, self.mlp(self.ln_2(hidden_states))
        )
