"""Kata 22: batched generation.

Several prompts of different lengths in one batch: padded on the left, with an attention mask
that hides the padding, each row's positions counted from its own first real token, your kata 19
cache holding the whole batch, one model call per step for every row, and each row stopping at
its own end-of-sequence token while the others go on. Read katas/step_22.md, then run
`kata check 22`.
"""

import math  # noqa: F401 - you will need it

import numpy as np  # noqa: F401 - you will need it
from max.dtype import DType  # noqa: F401 - you will need it
from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import ModuleList
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask  # noqa: F401 - you will need it
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary  # noqa: F401 - you will need it
from katas.step_15 import repeat_kv  # noqa: F401 - you will need it
from katas.step_19 import (CachedLlamaAttention, CachedLlamaDecoderLayer,  # noqa: F401
                           CachedLlamaForCausalLM, KVCache)


def left_pad(prompts: list[list[int]], pad_token_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Prompts (lists of token ids) of different lengths -> (input_ids, attention_mask), each a
    (batch, longest) int64 numpy array. Padding goes on the LEFT: every prompt ends at the last
    column. The mask is 1 on real tokens, 0 on padding."""
    # TODO
    return None


def position_ids_from(attention_mask: np.ndarray) -> np.ndarray:
    """(batch, T) mask -> (batch, T) int64 positions, each row counted from its own first real
    token (0, 1, 2, ...). Hugging Face: cumsum of the mask along the row, minus one (padding
    positions: any value, e.g. 0; nothing ever attends to them)."""
    # TODO
    return None


def rotary_tables_at(position_ids: Tensor, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos and sin for each row's own positions: position_ids (batch, seq) int64 -> two
    (batch, 1, seq, head_dim) float32 tensors (the 1 broadcasts over the heads)."""
    # TODO: kata 14's tables, with the positions given instead of start .. start + seq - 1.
    return None


class BatchedLlamaAttention(CachedLlamaAttention):
    """Your kata 19 attention (the same projections and weights) for a padded batch."""

    def forward(self, hidden_states: Tensor, cache: KVCache | None = None, layer_idx: int = 0,
                attention_mask: Tensor | None = None, position_ids: Tensor | None = None) -> Tensor:
        """hidden_states (batch, seq, hidden) of the NEW tokens; attention_mask (batch, cached +
        seq) int64, 1 for a real token, 0 for padding, over EVERY position so far; position_ids
        (batch, seq) int64, the new tokens' positions in their own rows."""
        # TODO: as kata 19, but rotate q and k by rotary_tables_at(position_ids, ...); after the
        # causal mask, hide every key whose attention_mask is 0 from every query, with a large
        # finite negative number (not -inf: see the lesson).
        return None


class BatchedLlamaDecoderLayer(CachedLlamaDecoderLayer):
    """Kata 19's layer with the batched attention; the same parameter names."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = BatchedLlamaAttention(config)

    def forward(self, hidden_states: Tensor, cache: KVCache | None = None, layer_idx: int = 0,
                attention_mask: Tensor | None = None, position_ids: Tensor | None = None) -> Tensor:
        normed = self.input_layernorm(hidden_states)
        hidden_states = hidden_states + self.self_attn(normed, cache, layer_idx,
                                                       attention_mask, position_ids)
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class BatchedLlamaForCausalLM(CachedLlamaForCausalLM):
    """Your kata 19 model taking Hugging Face's attention_mask and position_ids."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList(
            [BatchedLlamaDecoderLayer(config) for _ in range(config.num_hidden_layers)]
        )

    def forward(self, input_ids: Tensor, cache: KVCache | None = None,
                attention_mask: Tensor | None = None, position_ids: Tensor | None = None) -> Tensor:
        """(batch, seq) int64 ids of the NEW tokens -> (batch, seq, vocab_size) logits."""
        # TODO: embed_tokens, every layer (cache, its index, attention_mask, position_ids), the
        # final norm, lm_head.
        return None


def generate_batch(model, prompts: list[list[int]], max_new_tokens: int, pad_token_id: int,
                   eos_token_id: int | None = None) -> list[list[int]]:
    """Greedy decoding of every prompt at once, with one KVCache: the padded prompts in one call,
    then one call per step for the whole batch, given (batch, 1) ids. Returns each row's new
    tokens (a list of lists of ints); a row stops after its own eos_token_id (the last one in its
    list) while the others go on; the loop ends when every row has stopped or after
    max_new_tokens."""
    # TODO
    return []
