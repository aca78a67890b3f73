"""A small numpy GPT-2, used only to compute what *common mistakes* produce from the golden
inputs, so a wrong answer can be recognised by name. Correct answers always come from the
Hugging Face fixtures, never from here (tests check that this reference agrees with them).
"""

from __future__ import annotations

import math

import numpy as np


def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def softmax(x, axis=-1):
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def conv1d(x, w, b):
    """Hugging Face's Conv1D: w is [in, out]."""
    return x @ w + b


def mlp(x, weights, prefix):
    h = gelu_tanh(conv1d(x, weights[prefix + "c_fc.weight"], weights[prefix + "c_fc.bias"]))
    return conv1d(h, weights[prefix + "c_proj.weight"], weights[prefix + "c_proj.bias"])


def split_heads(t, n_head, order="right"):
    batch, seq, width = t.shape
    if order == "wrong":  # reshape straight to (batch, heads, seq, head_dim): mixes tokens
        return t.reshape(batch, n_head, seq, width // n_head)
    return t.reshape(batch, seq, n_head, width // n_head).transpose(0, 2, 1, 3)


def merge_heads(t):
    batch, heads, seq, dim = t.shape
    return t.transpose(0, 2, 1, 3).reshape(batch, seq, heads * dim)


def attention(x, weights, prefix, n_head, scale=True, mask=True, order="right", softmax_axis=-1,
              transpose_proj=False):
    qkv = conv1d(x, weights[prefix + "c_attn.weight"], weights[prefix + "c_attn.bias"])
    q, k, v = np.split(qkv, 3, axis=-1)
    q, k, v = (split_heads(t, n_head, order) for t in (q, k, v))
    scores = q @ k.transpose(0, 1, 3, 2)
    if scale:
        scores = scores / math.sqrt(q.shape[-1])
    if mask:
        seq = scores.shape[-1]
        scores = np.where(np.tril(np.ones((seq, seq), bool)), scores, -np.inf)
    probs = softmax(scores, axis=softmax_axis)
    probs = np.nan_to_num(probs)
    out = probs @ v
    merged = merge_heads(out) if order == "right" else out.reshape(x.shape)
    w = weights[prefix + "c_proj.weight"]
    return conv1d(merged, w.T if transpose_proj else w, weights[prefix + "c_proj.bias"])


def block(x, weights, prefix, n_head, prenorm=True, residual=True, swap_norms=False):
    ln1, ln2 = (prefix + "ln_2.", prefix + "ln_1.") if swap_norms else (prefix + "ln_1.", prefix + "ln_2.")
    norm = lambda t, p: layer_norm(t, weights[p + "weight"], weights[p + "bias"])  # noqa: E731
    attn = lambda t: attention(t, weights, prefix + "attn.", n_head)  # noqa: E731
    feed = lambda t: mlp(t, weights, prefix + "mlp.")  # noqa: E731
    if not prenorm:
        x = norm(x + attn(x), ln1)
        return norm(x + feed(x), ln2)
    if not residual:
        x = attn(norm(x, ln1))
        return feed(norm(x, ln2))
    x = x + attn(norm(x, ln1))
    return x + feed(norm(x, ln2))


def model(ids, weights, n_layer, n_head, final_norm=True, position_offset=0, layers=None):
    seq = ids.shape[-1]
    x = weights["transformer.wte.weight"][ids] + \
        weights["transformer.wpe.weight"][position_offset:position_offset + seq]
    for i in range(n_layer if layers is None else layers):
        x = block(x, weights, f"transformer.h.{i}.", n_head)
    if final_norm:
        x = layer_norm(x, weights["transformer.ln_f.weight"], weights["transformer.ln_f.bias"])
    return x


def as_float64(weights) -> dict:
    return {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
