"""Kata 19, written another way: per-layer lists of chunks, grown on demand and concatenated on
each update; the model passes layer indices through enumerate of a Sequential-free loop."""
import math

import numpy as np
from max.experimental import functional as F
from max.experimental.nn import ModuleList
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary, rotary_tables
from katas.step_15 import LlamaAttention, repeat_kv
from katas.step_17 import LlamaDecoderLayer, LlamaForCausalLM


class KVCache:
    def __init__(self):
        self.key_chunks: list[list] = []
        self.value_chunks: list[list] = []
        self.lengths: list[int] = []

    def _grow(self, layer_idx):
        while len(self.key_chunks) <= layer_idx:
            self.key_chunks.append([])
            self.value_chunks.append([])
            self.lengths.append(0)

    def get_seq_length(self, layer_idx=0):
        return self.lengths[layer_idx] if layer_idx < len(self.lengths) else 0

    def update(self, key_states, value_states, layer_idx):
        self._grow(layer_idx)
        self.key_chunks[layer_idx].append(key_states)
        self.value_chunks[layer_idx].append(value_states)
        self.lengths[layer_idx] += int(key_states.shape[2])
        keys = F.concat(self.key_chunks[layer_idx], axis=2)
        values = F.concat(self.value_chunks[layer_idx], axis=2)
        self.key_chunks[layer_idx] = [keys]  # keep one tensor per layer
        self.value_chunks[layer_idx] = [values]
        return keys, values


class CachedLlamaAttention(LlamaAttention):
    def forward(self, hidden_states, cache=None, layer_idx=0):
        batch, seq, _ = hidden_states.shape
        start = cache.get_seq_length(layer_idx) if cache else 0

        def heads(x, n):
            return x.reshape([batch, seq, n, self.head_dim]).transpose(1, 2)

        q = heads(self.q_proj(hidden_states), self.num_heads)
        k = heads(self.k_proj(hidden_states), self.num_kv_heads)
        v = heads(self.v_proj(hidden_states), self.num_kv_heads)
        cos, sin = rotary_tables(self.head_dim, int(seq), theta=self.rope_theta, start=start)
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)
        if cache:
            k, v = cache.update(k, v, layer_idx)
        n_rep = self.num_heads // self.num_kv_heads
        scores = q @ repeat_kv(k, n_rep).transpose(-1, -2) / math.sqrt(self.head_dim)
        scores = scores + causal_mask(int(seq), start, dtype=scores.dtype, device=scores.device)
        out = F.softmax(scores) @ repeat_kv(v, n_rep)
        return self.o_proj(out.transpose(1, 2).reshape([batch, seq, -1]))


class CachedLlamaDecoderLayer(LlamaDecoderLayer):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = CachedLlamaAttention(config)

    def forward(self, hidden_states, cache=None, layer_idx=0):
        attn = self.self_attn(self.input_layernorm(hidden_states), cache, layer_idx)
        hidden_states = attn + hidden_states
        return self.mlp(self.post_attention_layernorm(hidden_states)) + hidden_states


class CachedLlamaForCausalLM(LlamaForCausalLM):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList(
            [CachedLlamaDecoderLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, input_ids, cache=None):
        hidden = self.model.embed_tokens(input_ids)
        for index, layer in enumerate(self.model.layers):
            hidden = layer(hidden, cache, index)
        return self.lm_head(self.model.norm(hidden))


def generate(model, input_ids, max_new_tokens, eos_token_id=None):
    cache = KVCache()
    tokens = np.asarray(input_ids, dtype=np.int64)
    step_ids = tokens[None, :]
    new = []
    for _ in range(max_new_tokens):
        logits = model(Tensor(step_ids), cache).to_numpy()
        new.append(int(logits[0, -1].argmax()))
        if new[-1] == eos_token_id:
            break
        step_ids = np.array([[new[-1]]], dtype=np.int64)
    return new
