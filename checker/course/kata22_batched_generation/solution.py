"""Kata 22: batched generation. Prompts of different lengths in one batch, left-padded."""
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
from katas.step_19 import (CachedLlamaAttention, CachedLlamaDecoderLayer, CachedLlamaForCausalLM,
                           KVCache)


def left_pad(prompts: list[list[int]], pad_token_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), each (batch, longest) int64: every prompt pushed to the right
    edge, pad_token_id before it; the mask 1 on real tokens, 0 on padding."""
    longest = max(len(prompt) for prompt in prompts)
    input_ids = np.full((len(prompts), longest), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((len(prompts), longest), dtype=np.int64)
    for row, prompt in enumerate(prompts):
        input_ids[row, longest - len(prompt):] = prompt
        attention_mask[row, longest - len(prompt):] = 1
    return input_ids, attention_mask


def position_ids_from(attention_mask: np.ndarray) -> np.ndarray:
    """Each row's positions counted from its own first real token: cumsum(mask) - 1 (padding at
    0, as Hugging Face's generate fills it; no real token ever attends to it)."""
    attention_mask = np.asarray(attention_mask, dtype=np.int64)
    return np.where(attention_mask == 0, 0, np.cumsum(attention_mask, axis=-1) - 1)


def rotary_tables_at(position_ids: Tensor, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos and sin (batch, 1, seq, head_dim) for each row's own positions (batch, seq): kata 14's
    tables, one row of angles per token instead of one per position of a range."""
    batch, seq = position_ids.shape[0], position_ids.shape[1]
    exponents = Tensor.arange(0, head_dim, 2, dtype=DType.float32, device=position_ids.device) / head_dim
    inv_freq = 1.0 / (theta ** exponents)  # (head_dim / 2,)
    positions = position_ids.cast(DType.float32).reshape([batch, seq, 1])
    angles = positions * inv_freq.reshape([1, 1, head_dim // 2])  # (batch, seq, head_dim / 2)
    angles = F.concat([angles, angles], axis=-1).reshape([batch, 1, seq, head_dim])
    return F.cos(angles), F.sin(angles)


def split_heads(x: Tensor, heads: int, head_dim: int) -> Tensor:
    """(batch, seq, heads * head_dim) -> (batch, heads, seq, head_dim)."""
    batch, seq = x.shape[0], x.shape[1]
    return x.reshape([batch, seq, heads, head_dim]).transpose(1, 2)


class BatchedLlamaAttention(CachedLlamaAttention):
    """Kata 19's cached attention, for a padded batch: positions per row, pad keys masked."""

    def forward(self, hidden_states: Tensor, cache: KVCache | None = None, layer_idx: int = 0,
                attention_mask: Tensor | None = None, position_ids: Tensor | None = None) -> Tensor:
        batch, seq = hidden_states.shape[0], hidden_states.shape[1]
        q = split_heads(self.q_proj(hidden_states), self.num_heads, self.head_dim)
        k = split_heads(self.k_proj(hidden_states), self.num_kv_heads, self.head_dim)
        v = split_heads(self.v_proj(hidden_states), self.num_kv_heads, self.head_dim)

        # Each row's tokens at its own positions, counted from its first real token.
        cos, sin = rotary_tables_at(position_ids, self.head_dim, self.rope_theta)
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, layer_idx)  # every position so far, pads included
        total = k.shape[2]

        n_rep = self.num_heads // self.num_kv_heads
        k = repeat_kv(k, n_rep)
        v = repeat_kv(v, n_rep)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # (batch, heads, seq, total)
        # The future stays hidden, as in kata 19: the new tokens come after total - seq cached.
        start = total - seq
        scores = scores + causal_mask(seq, start, dtype=scores.dtype, device=scores.device)
        # Pad keys are hidden from every query: a large finite number, not -inf, so that a padded
        # query (whose every earlier key is padding) gets finite numbers, never NaN.
        real = attention_mask.reshape([batch, 1, 1, total]) == 1
        hidden = Tensor(float(np.finfo(np.float32).min), dtype=scores.dtype, device=scores.device)
        scores = F.where(real, scores, hidden)
        out = F.softmax(scores) @ v
        out = out.transpose(1, 2).reshape([batch, seq, self.num_heads * self.head_dim])
        return self.o_proj(out)


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
    """Kata 19's model taking Hugging Face's attention_mask and position_ids."""

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model.layers = ModuleList(
            [BatchedLlamaDecoderLayer(config) for _ in range(config.num_hidden_layers)]
        )

    def forward(self, input_ids: Tensor, cache: KVCache | None = None,
                attention_mask: Tensor | None = None, position_ids: Tensor | None = None) -> Tensor:
        """input_ids (batch, seq) of the NEW tokens; attention_mask (batch, cached + seq): 1 for a
        real token, 0 for padding; position_ids (batch, seq). -> (batch, seq, vocab_size)."""
        hidden_states = self.model.embed_tokens(input_ids)
        for layer_idx, layer in enumerate(self.model.layers):
            hidden_states = layer(hidden_states, cache, layer_idx, attention_mask, position_ids)
        return self.lm_head(self.model.norm(hidden_states))


def generate_batch(model, prompts: list[list[int]], max_new_tokens: int, pad_token_id: int,
                   eos_token_id: int | None = None) -> list[list[int]]:
    """Greedy decoding of every prompt at once: one model call per step for the whole batch.
    Returns each row's new tokens, each row stopping after its own eos_token_id."""
    input_ids, attention_mask = left_pad(prompts, pad_token_id)
    position_ids = position_ids_from(attention_mask)
    cache = KVCache()
    batch = len(prompts)
    finished = np.zeros(batch, dtype=bool)
    new_tokens: list[list[int]] = [[] for _ in range(batch)]
    ids = input_ids
    for _ in range(max_new_tokens):
        logits = model(Tensor(ids), cache, attention_mask=Tensor(attention_mask),
                       position_ids=Tensor(position_ids))
        chosen = np.argmax(logits.to_numpy()[:, -1], axis=-1)
        for row in range(batch):
            if not finished[row]:
                new_tokens[row].append(int(chosen[row]))
                finished[row] = int(chosen[row]) == eos_token_id
        if finished.all():
            break
        # A finished row is fed padding (its logits are never read) so the others go on.
        chosen = np.where(finished, pad_token_id, chosen)
        ids = chosen.reshape(batch, 1).astype(np.int64)
        attention_mask = np.concatenate([attention_mask, np.ones((batch, 1), dtype=np.int64)], axis=1)
        position_ids = position_ids[:, -1:] + 1
    return new_tokens
