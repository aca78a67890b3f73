"""Kata 13: the Llama configuration and RMSNorm."""
from dataclasses import dataclass

from max.experimental import functional as F
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


@dataclass
class LlamaConfig:
    """The shape of a Llama-family decoder; the defaults are SmolLM2-135M's."""

    vocab_size: int = 49152
    hidden_size: int = 576  # the width of every token's vector
    intermediate_size: int = 1536  # the MLP's hidden width
    num_hidden_layers: int = 30
    num_attention_heads: int = 9  # query heads
    num_key_value_heads: int = 3  # key/value heads, shared by groups of query heads
    rms_norm_eps: float = 1e-5
    rope_theta: float = 100000.0  # the base of the rotary frequencies
    max_position_embeddings: int = 8192
    tie_word_embeddings: bool = True  # lm_head reuses the token embedding matrix

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight, over the last axis. No mean, no bias."""

    def __init__(self, dim: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = Tensor.ones([dim])

    def forward(self, x: Tensor) -> Tensor:
        # Only the size (root mean square) of each vector is normalized; its direction and its
        # mean are left alone, which is cheaper than LayerNorm and works as well in practice.
        mean_square = (x * x).mean(axis=-1)  # (..., 1): keeps the axis, ready to broadcast
        return x * F.rsqrt(mean_square + self.eps) * self.weight
