"""Kata 13, correct but written differently: the root mean square with ** 2, sum / n and
F.sqrt, then a division; the weight applied first."""
from dataclasses import dataclass

from max.experimental import functional as F
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


@dataclass
class LlamaConfig:
    vocab_size: int = 49152
    hidden_size: int = 576
    intermediate_size: int = 1536
    num_hidden_layers: int = 30
    num_attention_heads: int = 9
    num_key_value_heads: int = 3
    rms_norm_eps: float = 0.00001
    rope_theta: float = 100_000.0
    max_position_embeddings: int = 8192
    tie_word_embeddings: bool = True

    @property
    def head_dim(self):
        return int(self.hidden_size / self.num_attention_heads)


class RMSNorm(Module):
    def __init__(self, dim, *, eps=1e-5):
        super().__init__()
        self.dim = dim
        self.eps = eps
        self.weight = Tensor.ones([dim])

    def forward(self, x):
        rms = F.sqrt((x ** 2).sum(axis=-1) / self.dim + self.eps)
        return (self.weight * x) / rms
