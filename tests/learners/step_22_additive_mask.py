"""Kata 22, written another way: padding built as Python lists; positions clipped at 0 instead of
masked; the pad keys hidden by an additive bias of -1e9 (finite) rather than F.where; the angles'
frequencies a numpy constant; generate_batch feeds a finished row its own end-of-sequence token
again with a mask column of 0 (its logits are never read), and counts positions from the mask."""
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


def left_pad(prompts, pad_token_id):
    width = max(map(len, prompts))
    ids = [[pad_token_id] * (width - len(p)) + list(p) for p in prompts]
    mask = [[0] * (width - len(p)) + [1] * len(p) for p in prompts]
    return np.array(ids, dtype=np.int64), np.array(mask, dtype=np.int64)


def position_ids_from(attention_mask):
    return np.maximum(np.cumsum(attention_mask, axis=1) - 1, 0).astype(np.int64)


def rotary_tables_at(position_ids, head_dim, theta):
    b, s = position_ids.shape
    inv_freq = (1.0 / theta ** (np.arange(0, head_dim, 2) / head_dim)).astype(np.float32)
    angles = position_ids.cast(DType.float32).reshape([b, 1, s, 1]) * Tensor(inv_freq.reshape(1, 1, 1, -1))
    both = F.concat([angles, angles], axis=-1)
    return F.cos(both), F.sin(both)


class BatchedLlamaAttention(CachedLlamaAttention):
    def forward(self, hidden_states, cache=None, layer_idx=0, attention_mask=None, position_ids=None):
        b, s, _ = hidden_states.shape
        hd = self.head_dim
        q = self.q_proj(hidden_states).reshape([b, s, self.num_heads, hd]).transpose(1, 2)
        k = self.k_proj(hidden_states).reshape([b, s, self.num_kv_heads, hd]).transpose(1, 2)
        v = self.v_proj(hidden_states).reshape([b, s, self.num_kv_heads, hd]).transpose(1, 2)
        cos, sin = rotary_tables_at(position_ids, hd, self.rope_theta)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, layer_idx)
        total = k.shape[2]
        groups = self.num_heads // self.num_kv_heads
        k, v = repeat_kv(k, groups), repeat_kv(v, groups)
        scores = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(hd))
        scores = scores + causal_mask(s, total - s, dtype=scores.dtype, device=scores.device)
        pads = (1 - attention_mask).cast(DType.float32).reshape([b, 1, 1, total]) * -1e9
        out = F.softmax(scores + pads) @ v
        return self.o_proj(out.transpose(1, 2).reshape([b, s, self.num_heads * hd]))


class BatchedLlamaDecoderLayer(CachedLlamaDecoderLayer):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.self_attn = BatchedLlamaAttention(config)

    def forward(self, hidden_states, cache=None, layer_idx=0, attention_mask=None, position_ids=None):
        h = hidden_states + self.self_attn(self.input_layernorm(hidden_states), cache, layer_idx,
                                           attention_mask=attention_mask, position_ids=position_ids)
        return h + self.mlp(self.post_attention_layernorm(h))


class BatchedLlamaForCausalLM(CachedLlamaForCausalLM):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList([BatchedLlamaDecoderLayer(config)
                                        for _ in range(config.num_hidden_layers)])

    def forward(self, input_ids, cache=None, attention_mask=None, position_ids=None):
        x = self.model.embed_tokens(input_ids)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cache, i, attention_mask=attention_mask, position_ids=position_ids)
        return self.lm_head(self.model.norm(x))


def generate_batch(model, prompts, max_new_tokens, pad_token_id, eos_token_id=None):
    ids, mask = left_pad(prompts, pad_token_id)
    cache = KVCache()
    out = [[] for _ in prompts]
    done = [False] * len(prompts)
    positions = position_ids_from(mask)
    for _ in range(max_new_tokens):
        logits = model(Tensor(ids), cache, attention_mask=Tensor(mask), position_ids=Tensor(positions))
        last = logits.to_numpy()[:, -1, :]
        column = []
        for row in range(len(prompts)):
            if done[row]:
                column.append(eos_token_id)
                continue
            token = int(last[row].argmax())
            out[row].append(token)
            done[row] = token == eos_token_id
            column.append(token)
        if all(done):
            break
        ids = np.array(column, dtype=np.int64)[:, None]
        still = np.array([[0 if d else 1] for d in done], dtype=np.int64)
        mask = np.concatenate([mask, still], axis=1)
        positions = positions[:, -1:] + 1
    return out
