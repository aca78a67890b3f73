"""Kata 15: grouped-query attention with rotary position embeddings.

Llama's attention: RoPE on queries and keys, and fewer key/value heads than query heads, each
key/value head shared by a group of query heads. Read katas/step_15.md, then run
`kata check 15`.
"""

import math  # noqa: F401 - you will need it

from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Linear, Module  # noqa: F401 - you will need Linear
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask  # noqa: F401 - you will need it
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary, rotary_tables  # noqa: F401 - you will need them


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """(batch, n_kv, seq, head_dim) -> (batch, n_kv * n_rep, seq, head_dim).

    Key/value head j serves query heads j*n_rep .. j*n_rep + n_rep - 1: with 2 kv heads and
    n_rep 3 the heads come out as 0 0 0 1 1 1, not 0 1 0 1 0 1.
    """
    # TODO
    return None


class LlamaAttention(Module):
    """Causal self-attention: (batch, seq, hidden_size) -> (batch, seq, hidden_size)."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        self.rope_theta = config.rope_theta
        # TODO: create q_proj (hidden_size -> num_heads * head_dim), k_proj and v_proj
        # (hidden_size -> num_kv_heads * head_dim) and o_proj (num_heads * head_dim ->
        # hidden_size): Linear, no bias. These names matter: the weights load into them.

    def forward(self, hidden_states: Tensor) -> Tensor:
        # TODO: project q, k, v and split their heads; rotate q and k (rotary_tables with
        # theta=self.rope_theta, apply_rotary); repeat_kv on k and v; scaled scores plus the
        # causal mask, softmax, @ v; merge the heads; o_proj.
        return None
