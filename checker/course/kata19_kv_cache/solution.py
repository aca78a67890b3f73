"""Kata 19: the KV cache. Prefill the prompt once, then one token per step."""
import math

import numpy as np
from max.experimental import functional as F
from max.experimental.nn import ModuleList
from max.experimental.tensor import Tensor
from max.graph import StaticDim

from katas.step_02 import causal_mask
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary, rotary_tables
from katas.step_15 import LlamaAttention, repeat_kv
from katas.step_17 import LlamaDecoderLayer, LlamaForCausalLM


class KVCache:
    """The keys and values of every position seen so far, one pair of tensors per layer.

    Keys are stored after RoPE (each rotated by its own position, once) and before repeat_kv
    (num_key_value_heads heads: the cache is what grouped-query attention saves).
    """

    def __init__(self):
        self.keys: list[Tensor] = []    # layer i -> (batch, kv_heads, cached, head_dim)
        self.values: list[Tensor] = []

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """How many positions layer layer_idx holds (0 before the first update).

        A Python int when the length is known now (running eagerly, so any kata 2 and 14 take
        it); inside kata chat's compiled graph it is only known when the graph runs, and stays a
        symbolic Dim (int() of it would stop the compile)."""
        if layer_idx >= len(self.keys):
            return 0
        length = self.keys[layer_idx].shape[2]
        return int(length) if isinstance(length, StaticDim) else length

    def update(self, key_states: Tensor, value_states: Tensor,
               layer_idx: int) -> tuple[Tensor, Tensor]:
        """Appends the new positions' keys and values to layer layer_idx's, and returns all of
        that layer's keys and values so far: (batch, kv_heads, cached + new, head_dim)."""
        if layer_idx == len(self.keys):  # the first time this layer is seen
            self.keys.append(key_states)
            self.values.append(value_states)
        else:
            self.keys[layer_idx] = F.concat([self.keys[layer_idx], key_states], axis=2)
            self.values[layer_idx] = F.concat([self.values[layer_idx], value_states], axis=2)
        return self.keys[layer_idx], self.values[layer_idx]


def split_heads(x: Tensor, heads: int, head_dim: int) -> Tensor:
    """(batch, seq, heads * head_dim) -> (batch, heads, seq, head_dim)."""
    batch, seq = x.shape[0], x.shape[1]
    return x.reshape([batch, seq, heads, head_dim]).transpose(1, 2)


class CachedLlamaAttention(LlamaAttention):
    """Kata 15's attention (the same projections and weights), reading and extending a cache."""

    def forward(self, hidden_states: Tensor, cache: KVCache | None = None,
                layer_idx: int = 0) -> Tensor:
        batch, seq = hidden_states.shape[0], hidden_states.shape[1]
        # Positions continue after what is cached: the new tokens are start .. start + seq - 1.
        start = cache.get_seq_length(layer_idx) if cache is not None else 0
        # Kata 15's projections and sizes (its skeleton's names), split into heads.
        q = split_heads(self.q_proj(hidden_states), self.num_heads, self.head_dim)
        k = split_heads(self.k_proj(hidden_states), self.num_kv_heads, self.head_dim)
        v = split_heads(self.v_proj(hidden_states), self.num_kv_heads, self.head_dim)

        cos, sin = rotary_tables(self.head_dim, seq, theta=self.rope_theta, start=start)
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)  # rotated by its own position, once, before it is cached
        if cache is not None:
            k, v = cache.update(k, v, layer_idx)  # now every position so far: start + seq

        n_rep = self.num_heads // self.num_kv_heads
        k = repeat_kv(k, n_rep)
        v = repeat_kv(v, n_rep)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # (batch, heads, seq, start+seq)
        # The new tokens see every cached one and, among themselves, only earlier ones: kata 2's
        # mask with num_tokens = start.
        scores = scores + causal_mask(seq, start, dtype=scores.dtype, device=scores.device)
        out = F.softmax(scores) @ v
        out = out.transpose(1, 2).reshape([batch, seq, self.num_heads * self.head_dim])
        return self.o_proj(out)


class CachedLlamaDecoderLayer(LlamaDecoderLayer):
    """Kata 17's layer with the cached attention; the same parameter names."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = CachedLlamaAttention(config)

    def forward(self, hidden_states: Tensor, cache: KVCache | None = None,
                layer_idx: int = 0) -> Tensor:
        hidden_states = hidden_states + self.self_attn(self.input_layernorm(hidden_states),
                                                       cache, layer_idx)
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class CachedLlamaForCausalLM(LlamaForCausalLM):
    """Kata 17's model whose forward takes a cache: the same weights, by the same names."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList(
            [CachedLlamaDecoderLayer(config) for _ in range(config.num_hidden_layers)]
        )

    def forward(self, input_ids: Tensor, cache: KVCache | None = None) -> Tensor:
        """(batch, seq) int64 ids of the NEW tokens -> (batch, seq, vocab_size) logits.

        With a cache, the ids continue what it holds, and the cache grows by seq positions."""
        hidden_states = self.model.embed_tokens(input_ids)
        for layer_idx, layer in enumerate(self.model.layers):
            hidden_states = layer(hidden_states, cache, layer_idx)
        return self.lm_head(self.model.norm(hidden_states))


def generate(model, input_ids, max_new_tokens: int, eos_token_id: int | None = None) -> list[int]:
    """Greedy decoding with a cache: the prompt goes through the model once (prefill), then each
    step gives the model only the one token chosen last (decode). Returns the new token ids,
    stopping after eos_token_id."""
    cache = KVCache()
    ids = Tensor(np.asarray(input_ids, dtype=np.int64).reshape(1, -1))
    new_tokens: list[int] = []
    for _ in range(max_new_tokens):
        logits = model(ids, cache)  # (1, seq, vocab): only the last position predicts
        token = int(np.argmax(logits.to_numpy()[0, -1]))
        new_tokens.append(token)
        if token == eos_token_id:
            break
        ids = Tensor(np.array([[token]], dtype=np.int64))
    return new_tokens
