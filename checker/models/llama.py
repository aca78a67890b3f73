"""A small numpy Llama (SmolLM2's architecture) in float64, for Part 2 (katas 13-18).

Like checker/models/gpt2.py for GPT-2: the correct answers of a check come from Hugging Face's
fixtures; this reference computes what *common mistakes* produce from the same inputs, so a wrong
answer can be named, and answers fresh inputs in the parent's judgement. Tests prove that it
equals Hugging Face's LlamaForCausalLM (tests/test_llama_reference.py).

Weights are a dict with Hugging Face's LlamaForCausalLM state-dict names
(model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight,
lm_head.weight); Linear weights are [out, in], as torch stores them. Every function takes the
mistake flags of MISTAKES as keyword arguments (False by default) and passes them down, so
`logits(ids, w, cfg, rope_interleaved=True)` is a whole model built with that one mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from checker.models.numpy_ops import as_float64, silu, softmax  # noqa: F401 - as_float64: the family's API

# Each flag makes the reference commit one common learner mistake; the sentence is its name.
MISTAKES = {
    # RMSNorm (kata 13)
    "norm_subtracts_mean": "RMSNorm subtracts the mean first (that is LayerNorm, not RMSNorm)",
    "norm_eps_outside_root": "RMSNorm adds eps outside the square root: x / (sqrt(mean(x^2)) + eps)",
    "norm_one_plus_weight": "RMSNorm scales by (1 + weight), Gemma's convention, not by weight",
    # Rotary position embeddings (kata 14)
    "rope_interleaved": "RoPE rotates interleaved pairs (x0, x1), (x2, x3), ... instead of the "
                        "two halves (x_i, x_{i + head_dim/2})",
    "rope_theta_ignored": "RoPE ignores the configured theta and uses 10000",
    "rope_start_ignored": "RoPE ignores the start offset: positions always begin at 0",
    "rope_freq_over_head_dim": "RoPE frequencies theta^(-i / head_dim) instead of "
                               "theta^(-i / (head_dim / 2)) = theta^(-2i / head_dim)",
    # Grouped-query attention (kata 15)
    "kv_tiled": "kv heads repeated in the wrong order (tile, not repeat_interleave): query head h "
                "reads kv head h % n_kv instead of h // n_rep",
    "rope_missing_on_k": "RoPE applied to the queries but not to the keys",
    "no_scale": "attention scores not divided by sqrt(head_dim)",
    "no_mask": "no causal mask: tokens attend to later tokens",
    # SwiGLU (kata 16)
    "mlp_gate_up_swapped": "SwiGLU with gate_proj and up_proj swapped: silu(up(x)) * gate(x)",
    "mlp_gelu": "GELU instead of SiLU in the MLP's gate",
    # The decoder (kata 17)
    "post_norm": "post-norm: the norm applied after each residual add instead of before the sublayer",
    "final_norm_missing": "the final norm (model.norm) is missing",
}

NORM_FLAGS = ("norm_subtracts_mean", "norm_eps_outside_root", "norm_one_plus_weight")
ROPE_FLAGS = ("rope_interleaved", "rope_theta_ignored", "rope_start_ignored", "rope_freq_over_head_dim")
ATTENTION_FLAGS = ROPE_FLAGS + ("kv_tiled", "rope_missing_on_k", "no_scale", "no_mask")
MLP_FLAGS = ("mlp_gate_up_swapped", "mlp_gelu")
LAYER_FLAGS = NORM_FLAGS + ATTENTION_FLAGS + MLP_FLAGS + ("post_norm",)
MODEL_FLAGS = LAYER_FLAGS + ("final_norm_missing",)

DEFAULT_THETA = 10000.0  # what "theta ignored" falls back to: the original RoPE paper's base


@dataclass(frozen=True)
class Config:
    """The shape numbers the reference needs; `Config.of` reads a dict, this, or a LlamaConfig."""

    hidden_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    num_hidden_layers: int

    @classmethod
    def of(cls, cfg) -> "Config":
        if isinstance(cfg, cls):
            return cfg
        get = cfg.get if isinstance(cfg, dict) else lambda k, d=None: getattr(cfg, k, d)
        values = {}
        for f in fields(cls):
            value = get(f.name, None)
            if value is None and f.name == "head_dim":
                value = get("hidden_size") // get("num_attention_heads")
            if value is None and f.name == "rope_theta":  # transformers 5 keeps it in rope_parameters
                value = (get("rope_parameters") or {}).get("rope_theta")
            if value is None:
                raise ValueError(f"configuration has no {f.name}")
            values[f.name] = value
        return cls(**values)


def _take(flags: dict, allowed: tuple) -> dict:
    unknown = set(flags) - set(allowed)
    if unknown:
        raise TypeError(f"unknown mistake flag(s) here: {sorted(unknown)}; known: {list(allowed)}")
    return {k: bool(v) for k, v in flags.items()}


def _sub(flags: dict, names: tuple) -> dict:
    return {k: v for k, v in flags.items() if k in names}


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def rms_norm(x, weight, eps, **flags):
    """x / sqrt(mean(x^2 over the last axis) + eps) * weight (Hugging Face's LlamaRMSNorm)."""
    f = _take(flags, NORM_FLAGS)
    x = _f64(x)
    if f.get("norm_subtracts_mean"):
        x = x - x.mean(-1, keepdims=True)
    mean_square = (x * x).mean(-1, keepdims=True)
    if f.get("norm_eps_outside_root"):
        normed = x / (np.sqrt(mean_square) + eps)
    else:
        normed = x / np.sqrt(mean_square + eps)
    scale = _f64(weight)
    return normed * (1.0 + scale if f.get("norm_one_plus_weight") else scale)


def rotary_tables(head_dim, seq_len, theta=DEFAULT_THETA, start=0, **flags):
    """cos and sin, each (seq_len, head_dim), for positions start .. start + seq_len - 1.

    Hugging Face's half-split layout: inv_freq[i] = theta^(-2i / head_dim) for i < head_dim / 2,
    angles[p, i] = p * inv_freq[i], and each table holds cos/sin of [angles, angles].
    """
    f = _take(flags, ROPE_FLAGS)
    if f.get("rope_theta_ignored"):
        theta = DEFAULT_THETA
    if f.get("rope_start_ignored"):
        start = 0
    half = head_dim // 2
    pair = np.arange(half, dtype=np.float64)
    # "Frequencies over head_dim instead of head_dim / 2": the exponent divides the pair index i
    # by head_dim where it must divide by head_dim / 2, i.e. theta^(-i / head_dim) instead of
    # theta^(-2i / head_dim) (the 2 of `arange(0, head_dim, 2) / head_dim` forgotten). The
    # frequencies then only fall to theta^(-1/2) instead of nearly 1/theta.
    exponent = pair / head_dim if f.get("rope_freq_over_head_dim") else 2.0 * pair / head_dim
    inv_freq = float(theta) ** -exponent
    positions = np.arange(start, start + seq_len, dtype=np.float64)
    angles = np.outer(positions, inv_freq)
    # Interleaved tables pair with interleaved rotation: [a0, a0, a1, a1, ...] (GPT-J / Meta's
    # original layout) instead of Hugging Face's [a0, a1, ..., a0, a1, ...].
    emb = np.repeat(angles, 2, axis=-1) if f.get("rope_interleaved") else np.concatenate([angles, angles], -1)
    return np.cos(emb), np.sin(emb)


def rotate_half(x):
    """[-x2, x1] for x = [x1, x2] split in halves along the last axis."""
    x = _f64(x)
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def _rotate_pairs(x):
    """The interleaved mistake's rotation: (x0, x1), (x2, x3), ... -> (-x1, x0), (-x3, x2), ..."""
    out = np.empty_like(x)
    out[..., 0::2] = -x[..., 1::2]
    out[..., 1::2] = x[..., 0::2]
    return out


def apply_rotary(x, cos, sin, **flags):
    """x * cos + rotate_half(x) * sin, for x (batch, heads, seq, head_dim), cos/sin (seq, head_dim)."""
    f = _take(flags, ("rope_interleaved",))
    x = _f64(x)
    rotated = _rotate_pairs(x) if f.get("rope_interleaved") else rotate_half(x)
    return x * _f64(cos) + rotated * _f64(sin)


def repeat_kv(x, n_rep, **flags):
    """(batch, n_kv, seq, hd) -> (batch, n_kv * n_rep, seq, hd); kv head j serves query heads
    j * n_rep .. j * n_rep + n_rep - 1 (torch.repeat_interleave on axis 1)."""
    f = _take(flags, ("kv_tiled",))
    x = _f64(x)
    if f.get("kv_tiled"):
        return np.tile(x, (1, n_rep, 1, 1))
    return np.repeat(x, n_rep, axis=1)


def _linear(x, weights, name):
    return x @ _f64(weights[name]).T  # torch's Linear: weight is [out, in]


def _heads(t, n, head_dim):
    batch, seq, _ = t.shape
    return t.reshape(batch, seq, n, head_dim).transpose(0, 2, 1, 3)


def attention(x, weights, prefix, cfg, start=0, *, return_probs=False, **flags):
    """LlamaAttention: x (batch, seq, hidden) -> (batch, seq, hidden), for tokens at positions
    start .. start + seq - 1 (all of them in x: no cache). prefix ends with "self_attn."."""
    f = _take(flags, ATTENTION_FLAGS)
    cfg = Config.of(cfg)
    x = _f64(x)
    hd, n_q, n_kv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
    q = _heads(_linear(x, weights, prefix + "q_proj.weight"), n_q, hd)
    k = _heads(_linear(x, weights, prefix + "k_proj.weight"), n_kv, hd)
    v = _heads(_linear(x, weights, prefix + "v_proj.weight"), n_kv, hd)
    cos, sin = rotary_tables(hd, x.shape[1], cfg.rope_theta, start, **_sub(f, ROPE_FLAGS))
    rope = _sub(f, ("rope_interleaved",))
    q = apply_rotary(q, cos, sin, **rope)
    if not f.get("rope_missing_on_k"):
        k = apply_rotary(k, cos, sin, **rope)
    kv = _sub(f, ("kv_tiled",))
    k, v = repeat_kv(k, n_q // n_kv, **kv), repeat_kv(v, n_q // n_kv, **kv)
    scores = q @ k.transpose(0, 1, 3, 2)
    if not f.get("no_scale"):
        scores = scores / math.sqrt(hd)
    if not f.get("no_mask"):
        seq = scores.shape[-1]
        scores = np.where(np.tril(np.ones((seq, seq), dtype=bool)), scores, -np.inf)
    probs = softmax(scores)
    out = probs @ v
    batch, _, seq, _ = out.shape
    merged = out.transpose(0, 2, 1, 3).reshape(batch, seq, n_q * hd)
    result = _linear(merged, weights, prefix + "o_proj.weight")
    return (result, probs) if return_probs else result


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    """The exact (erf) GELU, torch.nn.functional.gelu's default."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def mlp(x, weights, prefix, **flags):
    """LlamaMLP (SwiGLU): down_proj(silu(gate_proj(x)) * up_proj(x)). prefix ends with "mlp."."""
    f = _take(flags, MLP_FLAGS)
    x = _f64(x)
    gate = _linear(x, weights, prefix + "gate_proj.weight")
    up = _linear(x, weights, prefix + "up_proj.weight")
    if f.get("mlp_gate_up_swapped"):
        gate, up = up, gate
    act = gelu(gate) if f.get("mlp_gelu") else silu(gate)
    return _linear(act * up, weights, prefix + "down_proj.weight")


def decoder_layer(x, weights, prefix, cfg, start=0, **flags):
    """LlamaDecoderLayer, pre-norm: h = x + attn(norm1(x)); h + mlp(norm2(h)).
    prefix is "model.layers.N."."""
    f = _take(flags, LAYER_FLAGS)
    cfg = Config.of(cfg)

    def norm(t, name):
        return rms_norm(t, weights[prefix + name + ".weight"], cfg.rms_norm_eps, **_sub(f, NORM_FLAGS))

    def attn(t):
        return attention(t, weights, prefix + "self_attn.", cfg, start, **_sub(f, ATTENTION_FLAGS))

    def feed(t):
        return mlp(t, weights, prefix + "mlp.", **_sub(f, MLP_FLAGS))

    x = _f64(x)
    if f.get("post_norm"):  # the original Transformer's order, with Llama's two norms
        h = norm(x + attn(x), "input_layernorm")
        return norm(h + feed(h), "post_attention_layernorm")
    h = x + attn(norm(x, "input_layernorm"))
    return h + feed(norm(h, "post_attention_layernorm"))


def _batch(ids) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64)
    return ids[None, :] if ids.ndim == 1 else ids


def hidden_states(ids, weights, cfg, start=0, **flags) -> list:
    """[embeddings, after layer 0, ..., after the last layer] (the last one before the final norm)."""
    f = _take(flags, LAYER_FLAGS)
    cfg = Config.of(cfg)
    x = _f64(np.asarray(weights["model.embed_tokens.weight"])[_batch(ids)])  # the rows used, not the table
    states = [x]
    for i in range(cfg.num_hidden_layers):
        x = decoder_layer(x, weights, f"model.layers.{i}.", cfg, start, **f)
        states.append(x)
    return states


def model(ids, weights, cfg, start=0, **flags):
    """LlamaModel: the hidden states after the final norm, (batch, seq, hidden)."""
    f = _take(flags, MODEL_FLAGS)
    cfg = Config.of(cfg)
    x = hidden_states(ids, weights, cfg, start, **_sub(f, LAYER_FLAGS))[-1]
    if f.get("final_norm_missing"):
        return x
    return rms_norm(x, weights["model.norm.weight"], cfg.rms_norm_eps, **_sub(f, NORM_FLAGS))


def logits(ids, weights, cfg, start=0, **flags):
    """LlamaForCausalLM: (batch, seq, vocab). Without lm_head.weight the head is the embedding (tied)."""
    head = weights.get("lm_head.weight")
    if head is None:
        head = weights["model.embed_tokens.weight"]
    return model(ids, weights, cfg, start, **flags) @ _f64(head).T


# --- The KV cache (kata 19): the same model, called once per chunk of new tokens -----------------

# Each flag makes the cached run commit one common mistake; the sentence is its name.
CACHE_MISTAKES = {
    "cache_positions_restart": "the new tokens' positions restart at 0 in every call: RoPE "
                               "ignores what the cache holds",
    "cache_mask_no_offset": "the causal mask has no offset: new token i sees keys 0 .. i of the "
                            "whole cache instead of 0 .. cached + i",
    "cache_mask_missing": "no causal mask once the cache holds tokens: a chunk of new tokens sees "
                          "its own future",
    "cache_not_appended": "the cache is never appended to: every later call sees the prompt's "
                          "keys and values and its own, and the positions stop at the prompt's length",
    "cache_raw_keys": "keys cached before RoPE and all rotated, on every call, by the new "
                      "tokens' positions",
    "cache_values_rotated": "the values rotated by RoPE as the keys are",
    "cache_shared_layers": "one cache for all layers: every layer appends to and reads the same "
                           "keys and values",
    "cache_start_from_layer0": "every layer reads its start from layer 0's cache, which already "
                               "holds this call's tokens when the later layers read it",
}
CACHE_FLAGS = tuple(CACHE_MISTAKES)


class _Raises(Exception):
    """The code that commits this mistake would fail here (shapes that do not broadcast)."""


def _length(held) -> int:
    return 0 if held is None else held[0].shape[2]


def _cached_attention(x, weights, prefix, cfg, store, layer, f):
    """Attention for the new tokens x, reading and extending store: slot -> (keys, values),
    keys after RoPE and before repeat_kv, (batch, kv_heads, positions, head_dim)."""
    hd, n_q, n_kv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
    seq = x.shape[1]
    slot = 0 if f.get("cache_shared_layers") else layer
    held = store.get(slot)
    start = _length(store.get(0) if f.get("cache_start_from_layer0") else held)
    q = _heads(_linear(x, weights, prefix + "q_proj.weight"), n_q, hd)
    k = _heads(_linear(x, weights, prefix + "k_proj.weight"), n_kv, hd)
    v = _heads(_linear(x, weights, prefix + "v_proj.weight"), n_kv, hd)
    cos, sin = rotary_tables(hd, seq, cfg.rope_theta, 0 if f.get("cache_positions_restart") else start)
    q = apply_rotary(q, cos, sin)
    if not f.get("cache_raw_keys"):
        k = apply_rotary(k, cos, sin)
    if f.get("cache_values_rotated"):
        v = apply_rotary(v, cos, sin)
    if held is None:
        keys, values = k, v
        store[slot] = (keys, values)
    else:
        keys, values = np.concatenate([held[0], k], axis=2), np.concatenate([held[1], v], axis=2)
        if not f.get("cache_not_appended"):
            store[slot] = (keys, values)
    total = keys.shape[2]
    if f.get("cache_raw_keys"):  # the new tokens' (seq, head_dim) tables over every key
        if seq not in (1, total):
            raise _Raises
        keys = apply_rotary(keys, cos, sin)
    keys, values = repeat_kv(keys, n_q // n_kv), repeat_kv(values, n_q // n_kv)
    scores = q @ keys.transpose(0, 1, 3, 2) / math.sqrt(hd)
    row, col = np.arange(seq)[:, None], np.arange(total)[None, :]
    if f.get("cache_mask_no_offset"):
        allowed = col <= row
    elif f.get("cache_mask_missing") and held is not None:
        allowed = np.ones((seq, total), dtype=bool)
    else:
        allowed = col <= row + (total - seq)
    out = softmax(np.where(allowed, scores, -np.inf)) @ values
    batch = out.shape[0]
    merged = out.transpose(0, 2, 1, 3).reshape(batch, seq, n_q * hd)
    return _linear(merged, weights, prefix + "o_proj.weight")


def cached_logits(calls, weights, cfg, held: dict | None = None, **flags) -> list:
    """LlamaForCausalLM called once per entry of `calls` with one KV cache: calls[0] is the
    prompt (prefill), each later entry the tokens that continue it, each (batch, seq) ids.
    Returns each call's logits (batch, seq, vocab). Without flags, call c's logits are logits()
    of the whole sequence so far at its positions. Where the code that commits a mistake would
    raise (shapes that do not broadcast), that call and the later ones are None.

    `held`: what the cache holds before calls[0] (layer -> (keys, values), keys after RoPE and
    before repeat_kv, (batch, kv_heads, positions, head_dim)); calls[0] then continues it."""
    f = _take(flags, CACHE_FLAGS)
    cfg = Config.of(cfg)
    head = weights.get("lm_head.weight")
    head = _f64(weights["model.embed_tokens.weight"] if head is None else head)
    store: dict = {layer: (_f64(k), _f64(v)) for layer, (k, v) in (held or {}).items()}
    out: list = []
    for ids in calls:
        x = _f64(np.asarray(weights["model.embed_tokens.weight"])[_batch(ids)])  # the rows used, not the table
        try:
            for i in range(cfg.num_hidden_layers):
                prefix = f"model.layers.{i}."
                norm1 = rms_norm(x, weights[prefix + "input_layernorm.weight"], cfg.rms_norm_eps)
                h = x + _cached_attention(norm1, weights, prefix + "self_attn.", cfg, store, i, f)
                norm2 = rms_norm(h, weights[prefix + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
                x = h + mlp(norm2, weights, prefix + "mlp.")
        except _Raises:
            return out + [None] * (len(calls) - len(out))
        out.append(rms_norm(x, weights["model.norm.weight"], cfg.rms_norm_eps) @ head.T)
    return out


# --- Batched generation (kata 22): left-padded rows, an attention mask, positions per row --------

# Each flag makes the padded batch commit one common mistake; the sentence is its name.
BATCH_MISTAKES = {
    "batch_positions_not_shifted": "positions not shifted for padded rows: every row's tokens at "
                                   "positions 0 .. T - 1 counted from the left edge, pads included",
    "batch_pad_keys_attended": "pad keys attended: the attention mask ignored, so real tokens "
                               "attend to the padding",
    "batch_mask_longest_row": "the mask built for the longest row only and used for every row "
                              "(the longest row has no padding, so no pad key is masked)",
}
BATCH_FLAGS = tuple(BATCH_MISTAKES)
_MASKED = np.finfo(np.float64).min  # finite: a padded query that sees no key gets no NaN


def left_pad(prompts, pad_token_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Prompts of different lengths as one (batch, longest) batch, padding on the left, and the
    attention mask (1 for a real token, 0 for padding), as Hugging Face's tokenizer pads with
    padding_side="left"."""
    longest = max(len(p) for p in prompts)
    ids = np.full((len(prompts), longest), pad_token_id, dtype=np.int64)
    mask = np.zeros((len(prompts), longest), dtype=np.int64)
    for row, prompt in enumerate(prompts):
        if len(prompt):
            ids[row, longest - len(prompt):] = prompt
            mask[row, longest - len(prompt):] = 1
    return ids, mask


def position_ids_from(attention_mask) -> np.ndarray:
    """Each row's positions counted from its own first real token: cumsum(mask) - 1, padding at 0
    (Hugging Face generate's _prepare_position_ids_for_generation)."""
    mask = np.asarray(attention_mask, dtype=np.int64)
    return np.where(mask == 0, 0, np.cumsum(mask, axis=-1) - 1)


def _row_rotary(head_dim, positions, theta):
    """cos, sin (batch, 1, seq, head_dim) for each row's own positions (batch, seq)."""
    half = head_dim // 2
    inv_freq = float(theta) ** -(2.0 * np.arange(half, dtype=np.float64) / head_dim)
    angles = np.asarray(positions, dtype=np.float64)[..., None] * inv_freq
    emb = np.concatenate([angles, angles], axis=-1)[:, None]
    return np.cos(emb), np.sin(emb)


def padded_logits(ids, attention_mask, weights, cfg, position_ids=None, **flags) -> np.ndarray:
    """LlamaForCausalLM on a padded batch: ids and attention_mask (batch, T), positions per row
    (position_ids_from(attention_mask) unless given). Returns (batch, T, vocab); a padded
    position's logits are whatever its (never attended) row computes. A cache changes no logit,
    so this is also every call of a cached run at the positions it fed."""
    f = _take(flags, BATCH_FLAGS)
    cfg = Config.of(cfg)
    ids, mask = _batch(ids), np.asarray(attention_mask, dtype=np.int64)
    batch, total = ids.shape
    positions = position_ids_from(mask) if position_ids is None else np.asarray(position_ids)
    if f.get("batch_positions_not_shifted"):
        positions = np.broadcast_to(np.arange(total), (batch, total))
    keys_real = mask == 1
    if f.get("batch_pad_keys_attended"):
        keys_real = np.ones_like(keys_real)
    if f.get("batch_mask_longest_row"):
        keys_real = np.broadcast_to(keys_real[np.argmax(mask.sum(axis=1))], keys_real.shape)
    allowed = np.tril(np.ones((total, total), dtype=bool))[None, None] & keys_real[:, None, None, :]
    hd, n_q, n_kv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
    cos, sin = _row_rotary(hd, positions, cfg.rope_theta)
    x = _f64(weights["model.embed_tokens.weight"])[ids]
    for i in range(cfg.num_hidden_layers):
        prefix = f"model.layers.{i}."
        h = rms_norm(x, weights[prefix + "input_layernorm.weight"], cfg.rms_norm_eps)
        a = prefix + "self_attn."
        q = apply_rotary(_heads(_linear(h, weights, a + "q_proj.weight"), n_q, hd), cos, sin)
        k = apply_rotary(_heads(_linear(h, weights, a + "k_proj.weight"), n_kv, hd), cos, sin)
        v = _heads(_linear(h, weights, a + "v_proj.weight"), n_kv, hd)
        k, v = repeat_kv(k, n_q // n_kv), repeat_kv(v, n_q // n_kv)
        scores = np.where(allowed, q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd), _MASKED)
        out = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(batch, total, n_q * hd)
        x = x + _linear(out, weights, a + "o_proj.weight")
        norm2 = rms_norm(x, weights[prefix + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
        x = x + mlp(norm2, weights, prefix + "mlp.")
    head = weights.get("lm_head.weight")
    head = _f64(weights["model.embed_tokens.weight"] if head is None else head)
    return rms_norm(x, weights["model.norm.weight"], cfg.rms_norm_eps) @ head.T


def greedy_alone(prompt, max_new_tokens: int, weights, cfg, eos_token_id=None) -> list[int]:
    """One prompt's greedy continuation, alone (no padding): what each row of a batch must give,
    stopping after eos_token_id."""
    tokens = [int(t) for t in prompt]
    new: list[int] = []
    for _ in range(max_new_tokens):
        token = int(np.argmax(logits(np.array([tokens]), weights, cfg)[0, -1]))
        new.append(token)
        tokens.append(token)
        if token == eos_token_id:
            break
    return new


def greedy_problem(prompt, tokens, weights, cfg, atol: float) -> str | None:
    """Whether `tokens` are a greedy continuation of `prompt` alone: each token's logit within atol
    of the best after the prompt and the earlier tokens (float32 near-ties pass). None, or "token
    K is T, but alone the most likely one there is ..." for the first that is not."""
    table = logits(np.concatenate([prompt, tokens])[None], weights, cfg)[0]
    for step, token in enumerate(tokens):
        best = table[len(prompt) - 1 + step]
        if best[token] < best.max() - atol:
            return (f"token {step + 1} is {int(token)}, but alone the most likely one there is "
                    f"{int(np.argmax(best))} (logit {best.max():.4f}; yours {best[token]:.4f})")
    return None
