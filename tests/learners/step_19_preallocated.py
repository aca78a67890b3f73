"""Kata 19, correct but written differently: the cache preallocates numpy buffers per layer
(capacity doubled when full), writes each update's positions into them in place and returns new
tensors of the positions held (so the model runs op by op, not as one graph); the model calls
update and get_seq_length with keywords; generate feeds Python lists of ids."""
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
        self.buffers = {}  # layer -> [keys buffer, values buffer, positions held]

    def get_seq_length(self, layer_idx=0):
        return self.buffers[layer_idx][2] if layer_idx in self.buffers else 0

    def update(self, key_states, value_states, layer_idx):
        k, v = np.asarray(key_states.to_numpy()), np.asarray(value_states.to_numpy())
        new = k.shape[2]
        if layer_idx not in self.buffers:
            shape = (k.shape[0], k.shape[1], max(16, new), k.shape[3])
            self.buffers[layer_idx] = [np.zeros(shape, np.float32), np.zeros(shape, np.float32), 0]
        entry = self.buffers[layer_idx]
        held = entry[2]
        while held + new > entry[0].shape[2]:  # full: double the capacity
            entry[0] = np.concatenate([entry[0], np.zeros_like(entry[0])], axis=2)
            entry[1] = np.concatenate([entry[1], np.zeros_like(entry[1])], axis=2)
        entry[0][:, :, held:held + new] = k
        entry[1][:, :, held:held + new] = v
        entry[2] = held + new
        return (Tensor(np.ascontiguousarray(entry[0][:, :, :held + new])),
                Tensor(np.ascontiguousarray(entry[1][:, :, :held + new])))


class CachedLlamaAttention(LlamaAttention):
    def _heads(self, x, n, batch, seq):
        return x.reshape([batch, seq, n, self.head_dim]).transpose(1, 2)

    def forward(self, hidden_states, cache=None, layer_idx=0):
        batch, seq = hidden_states.shape[0], hidden_states.shape[1]
        offset = cache.get_seq_length(layer_idx=layer_idx) if cache is not None else 0
        q = self._heads(self.q_proj(hidden_states), self.num_heads, batch, seq)
        k = self._heads(self.k_proj(hidden_states), self.num_kv_heads, batch, seq)
        v = self._heads(self.v_proj(hidden_states), self.num_kv_heads, batch, seq)
        cos, sin = rotary_tables(self.head_dim, seq, theta=self.rope_theta, start=offset)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(key_states=k, value_states=v, layer_idx=layer_idx)
        group = self.num_heads // self.num_kv_heads
        scores = (q @ repeat_kv(k, group).transpose(2, 3)) / math.sqrt(self.head_dim)
        scores = scores + causal_mask(seq, offset, dtype=scores.dtype, device=scores.device)
        mixed = F.softmax(scores) @ repeat_kv(v, group)
        return self.o_proj(mixed.transpose(1, 2).reshape([batch, seq, self.num_heads * self.head_dim]))


class CachedLlamaDecoderLayer(LlamaDecoderLayer):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = CachedLlamaAttention(config)

    def forward(self, hidden_states, cache=None, layer_idx=0):
        residual = hidden_states
        hidden_states = residual + self.self_attn(self.input_layernorm(hidden_states), cache, layer_idx)
        residual = hidden_states
        return residual + self.mlp(self.post_attention_layernorm(hidden_states))


class CachedLlamaForCausalLM(LlamaForCausalLM):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList([CachedLlamaDecoderLayer(config)
                                        for _ in range(config.num_hidden_layers)])

    def forward(self, input_ids, cache=None):
        x = self.model.embed_tokens(input_ids)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cache=cache, layer_idx=i)
        return self.lm_head(self.model.norm(x))


def generate(model, input_ids, max_new_tokens, eos_token_id=None):
    cache = KVCache()
    feed = [int(t) for t in input_ids]
    produced = []
    while len(produced) < max_new_tokens:
        logits = model(Tensor(np.array([feed], dtype=np.int64)), cache)
        produced.append(int(np.argmax(logits.to_numpy()[0, -1])))
        if produced[-1] == eos_token_id:
            break
        feed = [produced[-1]]
    return produced
