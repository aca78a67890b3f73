"""Kata 19 mistake: keys cached before RoPE (rotated on every read). The cache keeps the
keys BEFORE RoPE and every call rotates all of them by their own positions 0 .. start + seq - 1.
The logits are right (more work per step, the same numbers), but the cache breaks the contract:
it does not hold Hugging Face's keys, and a cache filled with keys after RoPE gets them rotated
twice. Otherwise written another way: the model is composed, not inherited, around kata 17's
LlamaModel; generate calls model.forward with keywords and keeps numpy ids."""
import math

import numpy as np
from max.experimental import functional as F
from max.experimental.nn import Linear, Module
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary, rotary_tables
from katas.step_15 import LlamaAttention, repeat_kv
from katas.step_17 import LlamaDecoderLayer, LlamaModel


class KVCache:
    def __init__(self):
        self.k, self.v = [], []

    def get_seq_length(self, layer_idx=0):
        return 0 if layer_idx >= len(self.k) else int(self.k[layer_idx].shape[2])

    def update(self, key_states, value_states, layer_idx):
        if layer_idx >= len(self.k):
            self.k.append(key_states)
            self.v.append(value_states)
        else:
            self.k[layer_idx] = F.concat([self.k[layer_idx], key_states], axis=2)
            self.v[layer_idx] = F.concat([self.v[layer_idx], value_states], axis=2)
        return self.k[layer_idx], self.v[layer_idx]


class CachedLlamaAttention(LlamaAttention):
    def forward(self, hidden_states, cache=None, layer_idx=0):
        batch, seq = hidden_states.shape[0], hidden_states.shape[1]
        start = 0 if cache is None else cache.get_seq_length(layer_idx)
        q = self.q_proj(hidden_states).reshape([batch, seq, self.num_heads, self.head_dim]).transpose(1, 2)
        k = self.k_proj(hidden_states).reshape([batch, seq, self.num_kv_heads, self.head_dim]).transpose(1, 2)
        v = self.v_proj(hidden_states).reshape([batch, seq, self.num_kv_heads, self.head_dim]).transpose(1, 2)
        if cache is not None:
            k, v = cache.update(k, v, layer_idx)  # raw keys: rotated below, every time
        total = start + int(seq)
        cos, sin = rotary_tables(self.head_dim, total, theta=self.rope_theta)  # 0 .. total - 1
        q = apply_rotary(q, cos[start:], sin[start:])
        k = apply_rotary(k, cos, sin)
        n_rep = self.num_heads // self.num_kv_heads
        scores = q @ repeat_kv(k, n_rep).transpose(-1, -2) / math.sqrt(self.head_dim)
        scores = scores + causal_mask(seq, start, dtype=scores.dtype, device=scores.device)
        out = F.softmax(scores) @ repeat_kv(v, n_rep)
        return self.o_proj(out.transpose(1, 2).reshape([batch, seq, self.num_heads * self.head_dim]))


class CachedLlamaDecoderLayer(LlamaDecoderLayer):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = CachedLlamaAttention(config)

    def forward(self, hidden_states, cache=None, layer_idx=0):
        normed = self.input_layernorm(hidden_states)
        hidden_states = hidden_states + self.self_attn(normed, cache=cache, layer_idx=layer_idx)
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class CachedLlamaForCausalLM(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.model = LlamaModel(config)
        for i in range(config.num_hidden_layers):
            self.model.layers[i] = CachedLlamaDecoderLayer(config)
        self.lm_head = Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids, cache=None):
        x = self.model.embed_tokens(input_ids)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cache=cache, layer_idx=i)
        return self.lm_head(self.model.norm(x))


def generate(model, input_ids, max_new_tokens, eos_token_id=None):
    cache = KVCache()
    ids = np.array(input_ids, dtype=np.int64)[np.newaxis]
    result = []
    for _ in range(max_new_tokens):
        scores = np.from_dlpack(model.forward(Tensor(ids), cache=cache))
        nxt = int(scores[0, -1].argmax())
        result.append(nxt)
        if eos_token_id == nxt:
            break
        ids = np.full((1, 1), nxt, dtype=np.int64)
    return result
