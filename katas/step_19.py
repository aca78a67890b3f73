"""Kata 19: the KV cache.

Prefill the prompt in one call, then give the model one token per call: the keys and values of
every earlier position are kept, per layer, in a cache, so nothing is computed twice. Built on
your katas 2, 14, 15 and 17. Read katas/step_19.md, then run `kata check 19`.
"""

import math  # noqa: F401 - you will need it

import numpy as np  # noqa: F401 - you will need it
from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import ModuleList
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask  # noqa: F401 - you will need it
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary, rotary_tables  # noqa: F401 - you will need them
from katas.step_15 import LlamaAttention, repeat_kv  # noqa: F401 - you will need repeat_kv
from katas.step_17 import LlamaDecoderLayer, LlamaForCausalLM


class KVCache:
    """The keys and values of every position seen so far, one pair of tensors per layer.

    Keys are kept after RoPE (each rotated by its own position) and before repeat_kv
    (num_key_value_heads heads), each (batch, kv_heads, positions, head_dim).
    """

    def __init__(self):
        # TODO: somewhere to keep each layer's keys and values.
        pass

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """How many positions layer layer_idx holds (0 before its first update)."""
        # TODO
        return None

    def update(self, key_states: Tensor, value_states: Tensor,
               layer_idx: int) -> tuple[Tensor, Tensor]:
        """Appends the new positions' keys and values (batch, kv_heads, new, head_dim) to layer
        layer_idx's, and returns all of that layer's so far: (batch, kv_heads, held + new,
        head_dim) each."""
        # TODO
        return None


class CachedLlamaAttention(LlamaAttention):
    """Your kata 15 attention (the same q/k/v/o projections, num_heads, num_kv_heads, head_dim,
    rope_theta), reading and extending a cache."""

    def forward(self, hidden_states: Tensor, cache: KVCache | None = None,
                layer_idx: int = 0) -> Tensor:
        """(batch, seq, hidden) of the NEW tokens -> (batch, seq, hidden). With a cache, they
        come after the positions it holds for this layer, and their keys and values join it."""
        # TODO: start = what the cache holds for this layer (0 without a cache). Project q, k, v
        # and split their heads; rotate q and k for positions start .. start + seq - 1; put k
        # and v into the cache (update returns every position so far); repeat_kv; scores with
        # causal_mask(seq, start); softmax, @ v; merge the heads; o_proj.
        return None


class CachedLlamaDecoderLayer(LlamaDecoderLayer):
    """Your kata 17 layer with the cached attention; the same parameter names."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = CachedLlamaAttention(config)

    def forward(self, hidden_states: Tensor, cache: KVCache | None = None,
                layer_idx: int = 0) -> Tensor:
        # TODO: kata 17's two pre-norm residual steps, the attention given cache and layer_idx.
        return None


class CachedLlamaForCausalLM(LlamaForCausalLM):
    """Your kata 17 model whose forward takes a cache: the same weights, by the same names."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList(
            [CachedLlamaDecoderLayer(config) for _ in range(config.num_hidden_layers)]
        )

    def forward(self, input_ids: Tensor, cache: KVCache | None = None) -> Tensor:
        """(batch, seq) int64 ids of the NEW tokens -> (batch, seq, vocab_size) logits."""
        # TODO: embed_tokens, every layer (with the cache and its index), the final norm, lm_head.
        return None


def generate(model, input_ids, max_new_tokens: int, eos_token_id: int | None = None) -> list[int]:
    """Greedy decoding with a cache. input_ids: the prompt's token ids (a list of ints). The
    prompt goes through model(ids, cache) once; each later call gives only the token chosen last.
    Returns the new token ids (a list of ints), stopping after eos_token_id."""
    # TODO
    return []
