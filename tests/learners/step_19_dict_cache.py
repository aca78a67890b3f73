"""Kata 19, written another way: the cache is a dict of layer -> (keys, values); the attention
splits heads with F.unsqueeze-free reshapes of its own; generate argmaxes in MAX."""
import math

import numpy as np
from max.dtype import DType
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
        self.layers = {}

    def get_seq_length(self, layer_idx=0):
        if layer_idx not in self.layers:
            return 0
        return int(self.layers[layer_idx][0].shape[-2])

    def update(self, key_states, value_states, layer_idx):
        if layer_idx in self.layers:
            old_k, old_v = self.layers[layer_idx]
            key_states = F.concat([old_k, key_states], axis=-2)
            value_states = F.concat([old_v, value_states], axis=-2)
        self.layers[layer_idx] = (key_states, value_states)
        return key_states, value_states


class CachedLlamaAttention(LlamaAttention):
    def _split(self, x, heads):
        b, s, _ = x.shape
        return x.reshape([b, s, heads, self.head_dim]).permute([0, 2, 1, 3])

    def forward(self, hidden_states, cache=None, layer_idx=0):
        b, s, _ = hidden_states.shape
        past = 0 if cache is None else cache.get_seq_length(layer_idx)
        q = self._split(self.q_proj(hidden_states), self.num_heads)
        k = self._split(self.k_proj(hidden_states), self.num_kv_heads)
        v = self._split(self.v_proj(hidden_states), self.num_kv_heads)
        cos, sin = rotary_tables(self.head_dim, s, theta=self.rope_theta, start=past)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, layer_idx)
        groups = self.num_heads // self.num_kv_heads
        k, v = repeat_kv(k, groups), repeat_kv(v, groups)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        att = att + causal_mask(s, past, dtype=att.dtype, device=att.device)
        y = F.softmax(att) @ v
        return self.o_proj(y.permute([0, 2, 1, 3]).reshape([b, s, self.num_heads * self.head_dim]))


class CachedLlamaDecoderLayer(LlamaDecoderLayer):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = CachedLlamaAttention(config)

    def forward(self, hidden_states, cache=None, layer_idx=0):
        h = hidden_states + self.self_attn(self.input_layernorm(hidden_states), cache=cache,
                                           layer_idx=layer_idx)
        return h + self.mlp(self.post_attention_layernorm(h))


class CachedLlamaForCausalLM(LlamaForCausalLM):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList([CachedLlamaDecoderLayer(config)
                                        for _ in range(config.num_hidden_layers)])

    def forward(self, input_ids, cache=None):
        h = self.model.embed_tokens(input_ids)
        for i in range(len(self.model.layers)):
            h = self.model.layers[i](h, cache=cache, layer_idx=i)
        return self.lm_head(self.model.norm(h))


def generate(model, input_ids, max_new_tokens, eos_token_id=None):
    cache = KVCache()
    out = []
    ids = Tensor.from_dlpack(np.array([list(input_ids)], dtype=np.int64))
    while len(out) < max_new_tokens:
        logits = model(ids, cache=cache)
        token = F.argmax(logits[0, -1, :])  # (1,) int64
        out.append(int(token.to_numpy()[0]))
        if eos_token_id is not None and out[-1] == eos_token_id:
            break
        ids = token.reshape([1, 1]).cast(DType.int64)
    return out
