"""Kata 15: grouped-query attention with rotary position embeddings."""
import math

from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary, rotary_tables


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """(batch, n_kv, seq, head_dim) -> (batch, n_kv * n_rep, seq, head_dim).

    Key/value head j serves query heads j*n_rep .. j*n_rep + n_rep - 1: each kv head is repeated
    n_rep times in place (0 0 1 1 2 2), not the whole stack n_rep times (0 1 2 0 1 2).
    """
    if n_rep == 1:
        return x
    batch, n_kv, seq, head_dim = x.shape
    x = x.reshape([batch, n_kv, 1, seq, head_dim])  # a new axis right after the kv heads
    x = F.broadcast_to(x, [batch, n_kv, n_rep, seq, head_dim])  # copies along it
    return x.reshape([batch, n_kv * n_rep, seq, head_dim])


class LlamaAttention(Module):
    """Causal self-attention with RoPE on q and k, and fewer key/value heads than query heads."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        self.rope_theta = config.rope_theta
        hidden = config.hidden_size
        self.q_proj = Linear(hidden, self.num_heads * self.head_dim, bias=False)
        self.k_proj = Linear(hidden, self.num_kv_heads * self.head_dim, bias=False)
        self.v_proj = Linear(hidden, self.num_kv_heads * self.head_dim, bias=False)
        self.o_proj = Linear(self.num_heads * self.head_dim, hidden, bias=False)

    def split_heads(self, x: Tensor, heads: int) -> Tensor:
        """(batch, seq, heads * head_dim) -> (batch, heads, seq, head_dim)."""
        batch, seq = x.shape[0], x.shape[1]
        return x.reshape([batch, seq, heads, self.head_dim]).transpose(1, 2)

    def forward(self, hidden_states: Tensor) -> Tensor:
        batch, seq = hidden_states.shape[0], hidden_states.shape[1]
        q = self.split_heads(self.q_proj(hidden_states), self.num_heads)
        k = self.split_heads(self.k_proj(hidden_states), self.num_kv_heads)
        v = self.split_heads(self.v_proj(hidden_states), self.num_kv_heads)

        # Position enters here, and only here: q and k are turned by their position's angle,
        # so q.k depends on how far apart the two tokens are. v is not rotated.
        cos, sin = rotary_tables(self.head_dim, seq, theta=self.rope_theta)
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)

        # Each group of num_heads / num_kv_heads query heads shares one key/value head.
        n_rep = self.num_heads // self.num_kv_heads
        k = repeat_kv(k, n_rep)
        v = repeat_kv(v, n_rep)

        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # (batch, heads, seq, seq)
        scores = scores + causal_mask(seq, 0, dtype=scores.dtype, device=scores.device)
        out = F.softmax(scores) @ v  # (batch, heads, seq, head_dim)
        out = out.transpose(1, 2).reshape([batch, seq, self.num_heads * self.head_dim])
        return self.o_proj(out)
