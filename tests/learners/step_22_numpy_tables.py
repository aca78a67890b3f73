"""Kata 22, written another way: the model computes the rotary tables and the padding bias once,
before the first layer, and passes them down (the layers never see the mask or the positions);
the bias is F.where(mask == 1, 0, float32's smallest) added to the scores; padding built with
np.pad, positions written row by row; generate_batch tracks the finished rows in a set and
recomputes the new positions from the whole mask at every step."""
import math

import numpy as np
from max.dtype import DType
from max.experimental import functional as F
from max.experimental.nn import ModuleList
from max.experimental.tensor import Tensor

from katas.step_02 import causal_mask
from katas.step_13 import LlamaConfig
from katas.step_14 import apply_rotary
from katas.step_15 import repeat_kv
from katas.step_19 import CachedLlamaAttention, CachedLlamaDecoderLayer, CachedLlamaForCausalLM, KVCache

LOWEST = float(np.finfo(np.float32).min)


def left_pad(prompts, pad_token_id):
    width = max(len(p) for p in prompts)
    ids = np.stack([np.pad(np.asarray(p, dtype=np.int64), (width - len(p), 0),
                           constant_values=pad_token_id) for p in prompts])
    mask = np.stack([np.pad(np.ones(len(p), dtype=np.int64), (width - len(p), 0)) for p in prompts])
    return ids, mask


def position_ids_from(attention_mask):
    mask = np.asarray(attention_mask)
    positions = np.zeros(mask.shape, dtype=np.int64)
    for row in range(mask.shape[0]):
        real = np.flatnonzero(mask[row])
        positions[row, real] = np.arange(len(real))
    return positions


def rotary_tables_at(position_ids, head_dim, theta):
    batch, seq = position_ids.shape[0], position_ids.shape[1]
    half = head_dim // 2
    inv_freq = Tensor(np.array([theta ** (-2.0 * i / head_dim) for i in range(half)], dtype=np.float32))
    angles = position_ids.cast(DType.float32).reshape([batch, seq, 1]) * inv_freq.reshape([1, 1, half])
    angles = F.concat([angles, angles], axis=2).reshape([batch, 1, seq, head_dim])
    return F.cos(angles), F.sin(angles)


class BatchedLlamaAttention(CachedLlamaAttention):
    def forward(self, hidden_states, cache, layer_idx, cos, sin, bias):
        batch, seq = hidden_states.shape[0], hidden_states.shape[1]

        def heads(x, n):
            return x.reshape([batch, seq, n, self.head_dim]).transpose(1, 2)

        q = apply_rotary(heads(self.q_proj(hidden_states), self.num_heads), cos, sin)
        k = apply_rotary(heads(self.k_proj(hidden_states), self.num_kv_heads), cos, sin)
        v = heads(self.v_proj(hidden_states), self.num_kv_heads)
        k, v = cache.update(k, v, layer_idx)
        n_rep = self.num_heads // self.num_kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
        total = k.shape[2]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        scores = scores + causal_mask(seq, total - seq, dtype=scores.dtype, device=scores.device) + bias
        out = F.softmax(scores) @ v
        return self.o_proj(out.transpose(1, 2).reshape([batch, seq, self.num_heads * self.head_dim]))


class BatchedLlamaDecoderLayer(CachedLlamaDecoderLayer):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = BatchedLlamaAttention(config)

    def forward(self, hidden_states, cache, layer_idx, cos, sin, bias):
        attended = self.self_attn(self.input_layernorm(hidden_states), cache, layer_idx, cos, sin, bias)
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class BatchedLlamaForCausalLM(CachedLlamaForCausalLM):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList(
            [BatchedLlamaDecoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.theta = config.rope_theta
        self.head_dim = config.hidden_size // config.num_attention_heads

    def forward(self, input_ids, cache=None, attention_mask=None, position_ids=None):
        if cache is None:
            cache = KVCache()
        batch = input_ids.shape[0]
        total = attention_mask.shape[1]
        cos, sin = rotary_tables_at(position_ids, self.head_dim, self.theta)
        zero = Tensor(0.0, dtype=DType.float32, device=attention_mask.device)
        lowest = Tensor(LOWEST, dtype=DType.float32, device=attention_mask.device)
        bias = F.where(attention_mask.reshape([batch, 1, 1, total]) == 1, zero, lowest)
        hidden = self.model.embed_tokens(input_ids)
        for index, layer in enumerate(self.model.layers):
            hidden = layer(hidden, cache, index, cos, sin, bias)
        return self.lm_head(self.model.norm(hidden))


def generate_batch(model, prompts, max_new_tokens, pad_token_id, eos_token_id=None):
    ids, mask = left_pad(prompts, pad_token_id)
    batch = len(prompts)
    cache = KVCache()
    finished: set[int] = set()
    rows = [[] for _ in range(batch)]
    positions = position_ids_from(mask)
    step = 0
    while step < max_new_tokens and len(finished) < batch:
        logits = model(Tensor(ids), cache, attention_mask=Tensor(mask), position_ids=Tensor(positions))
        best = logits.to_numpy()[:, -1].argmax(axis=-1)
        for row in range(batch):
            if row in finished:
                best[row] = pad_token_id
                continue
            rows[row].append(int(best[row]))
            if int(best[row]) == eos_token_id:
                finished.add(row)
        step += 1
        ids = best.astype(np.int64).reshape(batch, 1)
        mask = np.concatenate([mask, np.ones((batch, 1), dtype=np.int64)], axis=1)
        positions = position_ids_from(mask)[:, -1:]
    return rows
