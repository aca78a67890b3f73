"""Kata 19, written another way: the model reads the start once, from layer 0 before the first
layer, and computes the rotary tables and the mask once, passing them down; the attention never
asks the cache how long it is. The mask is built here with F.band_part, not with kata 2."""
import math

import numpy as np
from max.experimental import functional as F
from max.experimental.nn import Module, ModuleList
from max.experimental.tensor import Tensor

from katas.step_13 import LlamaConfig, RMSNorm
from katas.step_14 import apply_rotary, rotary_tables
from katas.step_15 import LlamaAttention, repeat_kv
from katas.step_16 import LlamaMLP
from katas.step_17 import LlamaForCausalLM


class KVCache:
    def __init__(self):
        self.keys = []
        self.values = []

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return int(self.keys[layer_idx].shape[2]) if layer_idx < len(self.keys) else 0

    def update(self, key_states, value_states, layer_idx):
        if layer_idx < len(self.keys):
            key_states = F.concat([self.keys[layer_idx], key_states], axis=2)
            value_states = F.concat([self.values[layer_idx], value_states], axis=2)
            self.keys[layer_idx], self.values[layer_idx] = key_states, value_states
        else:
            self.keys.append(key_states)
            self.values.append(value_states)
        return key_states, value_states


def mask_for(seq, start, like):
    """(seq, start + seq): 0 where new token i may look (keys up to start + i), else -inf."""
    blocked = F.broadcast_to(Tensor(float("-inf"), dtype=like.dtype, device=like.device),
                             shape=(seq, start + seq))
    return F.band_part(blocked, num_lower=None, num_upper=start, exclude=True)


class CachedLlamaAttention(LlamaAttention):
    def forward(self, hidden_states, cache=None, layer_idx=0, rope=None, mask=None):
        b, s = hidden_states.shape[0], hidden_states.shape[1]
        if rope is None:  # called on its own: positions from 0, no cache
            rope = rotary_tables(self.head_dim, s, theta=self.rope_theta)
        cos, sin = rope
        q = self.q_proj(hidden_states).reshape([b, s, self.num_heads, self.head_dim]).transpose(1, 2)
        k = self.k_proj(hidden_states).reshape([b, s, self.num_kv_heads, self.head_dim]).transpose(1, 2)
        v = self.v_proj(hidden_states).reshape([b, s, self.num_kv_heads, self.head_dim]).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, layer_idx)
        rep = self.num_heads // self.num_kv_heads
        w = q @ repeat_kv(k, rep).transpose(-1, -2) / math.sqrt(self.head_dim)
        w = w + (mask if mask is not None else mask_for(s, 0, w))
        o = (F.softmax(w) @ repeat_kv(v, rep)).transpose(1, 2)
        return self.o_proj(o.reshape([b, s, self.num_heads * self.head_dim]))


class CachedLlamaDecoderLayer(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.self_attn = CachedLlamaAttention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.mlp = LlamaMLP(config)

    def forward(self, x, cache=None, layer_idx=0, rope=None, mask=None):
        x = x + self.self_attn(self.input_layernorm(x), cache, layer_idx, rope, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class CachedLlamaForCausalLM(LlamaForCausalLM):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList([CachedLlamaDecoderLayer(config)
                                        for _ in range(config.num_hidden_layers)])

    def forward(self, input_ids, cache=None):
        seq = input_ids.shape[1]
        start = cache.get_seq_length(0) if cache is not None else 0  # before any layer appends
        head_dim = self.config.hidden_size // self.config.num_attention_heads
        rope = rotary_tables(head_dim, seq, theta=self.config.rope_theta, start=start)
        x = self.model.embed_tokens(input_ids)
        mask = mask_for(seq, start, x)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cache, i, rope, mask)
        return self.lm_head(self.model.norm(x))


def generate(model, input_ids, max_new_tokens, eos_token_id=None):
    cache = KVCache()
    prompt = Tensor(np.array(input_ids, dtype=np.int64).reshape(1, -1))
    logits = model(prompt, cache)
    chosen = []
    while True:
        token = int(np.argmax(logits.to_numpy()[0, -1]))
        chosen.append(token)
        if token == eos_token_id or len(chosen) == max_new_tokens:
            return chosen
        logits = model(Tensor(np.array([[token]], dtype=np.int64)), cache)
