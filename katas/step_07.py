"""Kata 7: causal multi-head self-attention.

Every token looks at the tokens before it, in n_head heads at once, and mixes in what it finds.
Read katas/step_07.md, then run `kata check 7`.
"""

import math  # noqa: F401 - you will need it

from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Linear, Module  # noqa: F401 - you will need Linear
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_02 import causal_mask  # noqa: F401 - you will need it


class GPT2MultiHeadAttention(Module):
    """GPT-2 attention. Each stage is a method so it can be checked alone:

    qkv(hidden)            -> (q, k, v), each (batch, heads, seq, head_dim)
    split_heads(x)         (batch, seq, n_embd) -> (batch, heads, seq, head_dim)
    merge_heads(x)         (batch, heads, seq, head_dim) -> (batch, seq, n_embd)
    attention_weights(q,k) -> softmax(q k^T / sqrt(head_dim) + mask), (batch, heads, seq, seq)
    forward(hidden)        -> c_proj(merge_heads(attention_weights(q, k) @ v))
    """

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        # TODO: create `c_attn` (n_embd -> 3 * n_embd) and `c_proj` (n_embd -> n_embd).
        # These names matter: GPT-2's weights load into them.

    def split_heads(self, x: Tensor) -> Tensor:
        """(batch, seq, n_embd) -> (batch, num_heads, seq, head_dim)."""
        # TODO: give the last axis a heads axis, then move the heads before seq.
        return None

    def merge_heads(self, x: Tensor) -> Tensor:
        """(batch, num_heads, seq, head_dim) -> (batch, seq, n_embd): undoes split_heads."""
        # TODO
        return None

    def qkv(self, hidden_states: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(batch, seq, n_embd) -> (query, key, value), each (batch, num_heads, seq, head_dim)."""
        # TODO: one c_attn matmul, cut its output in three along the last axis, split heads.
        return None

    def attention_weights(self, query: Tensor, key: Tensor) -> Tensor:
        """Two (batch, num_heads, seq, head_dim) tensors -> (batch, num_heads, seq, seq).

        Row i holds the softmax probabilities with which query i attends to each key: scaled
        scores plus the causal mask, softmax over the keys.
        """
        # TODO
        return None

    def forward(self, hidden_states: Tensor) -> Tensor:
        """(batch, seq, n_embd) -> (batch, seq, n_embd). This is what the checker grades."""
        # TODO: qkv, attention weights, weighted sum of the values, merge heads, c_proj.
        return None
