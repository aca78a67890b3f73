"""Kata 7: causal multi-head self-attention."""
import math

from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_02 import causal_mask


class GPT2MultiHeadAttention(Module):
    """GPT-2 attention. Each stage is a method so it can be checked alone:

    qkv(hidden)            -> (q, k, v), each (batch, heads, seq, head_dim)
    split_heads(x)         (batch, seq, n_embd) -> (batch, heads, seq, head_dim)
    merge_heads(x)         (batch, heads, seq, head_dim) -> (batch, seq, n_embd)
    attention_weights(q,k) -> softmax(q k^T / sqrt(head_dim) + mask), (batch, heads, seq, seq)
    forward(hidden)        -> c_proj(merge_heads(attention_weights(q, k) @ v))
    """

    def __init__(self, config: GPT2Config):
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.c_attn = Linear(self.embed_dim, 3 * self.embed_dim)
        self.c_proj = Linear(self.embed_dim, self.embed_dim)

    def split_heads(self, x: Tensor) -> Tensor:
        batch, seq = x.shape[0], x.shape[1]
        x = x.reshape([batch, seq, self.num_heads, self.head_dim])
        return x.transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        x = x.transpose(1, 2)  # (batch, seq, heads, head_dim)
        batch, seq = x.shape[0], x.shape[1]
        return x.reshape([batch, seq, self.embed_dim])

    def qkv(self, hidden_states: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        qkv = self.c_attn(hidden_states)  # (batch, seq, 3 * n_embd)
        query, key, value = F.split(
            qkv, [self.embed_dim, self.embed_dim, self.embed_dim], axis=-1
        )
        return (
            self.split_heads(query),
            self.split_heads(key),
            self.split_heads(value),
        )

    def attention_weights(self, query: Tensor, key: Tensor) -> Tensor:
        scores = query @ key.transpose(-1, -2)
        scores = scores / math.sqrt(self.head_dim)
        seq_len = query.shape[-2]
        mask = causal_mask(seq_len, 0, dtype=scores.dtype, device=scores.device)
        return F.softmax(scores + mask)

    def forward(self, hidden_states: Tensor) -> Tensor:
        query, key, value = self.qkv(hidden_states)
        weights = self.attention_weights(query, key)
        attn_output = weights @ value  # (batch, heads, seq, head_dim)
        return self.c_proj(self.merge_heads(attn_output))
