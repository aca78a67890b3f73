"""Kata 9, correct but written differently: plain additions, submodules created in another order."""
from max.experimental.nn import Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_03 import LayerNorm
from katas.step_04 import GPT2MLP
from katas.step_07 import GPT2MultiHeadAttention


class GPT2Block(Module):
    def __init__(self, config: GPT2Config):
        self.mlp = GPT2MLP(config.n_inner or 4 * config.n_embd, config)
        self.attn = GPT2MultiHeadAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.ln_1 = LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x
