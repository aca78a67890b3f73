"""The GPT-2 family in numpy: what katas 1-12 share on the checker's side.

The numpy GPT-2 computes what *common mistakes* produce from the golden inputs, so a wrong
answer can be recognised by name, and the right answer on fresh inputs, which the parent judges
(checker/check/fresh.py). The test suite proves it equal to Hugging Face on the golden data.
`Fixtures` and the draws below are what the kata folders' fresh-input specs build on.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from checker import fixture_files
from checker.models.numpy_ops import as_float64, softmax


def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


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


@functools.lru_cache(maxsize=2)
def _weights64(fixtures_dir: Path) -> dict:
    """GPT-2's weights as float64, converted once per process (inputs and judgement share them)."""
    return as_float64(fixture_files.load(fixtures_dir, "weights.npz"))


class Fixtures:
    """The verified fixtures the parent needs: GPT-2's config and weights, as float64."""

    def __init__(self, fixtures_dir: Path):
        self.dir = fixtures_dir

    @property
    def config(self) -> dict:
        return fixture_files.load(self.dir, "golden/step_01.json")

    @property
    def tiny(self) -> dict:
        return self.config["tiny"]

    @property
    def weights(self) -> dict:
        return _weights64(self.dir)

    def embeddings(self, ids: np.ndarray) -> np.ndarray:
        w = self.weights
        return w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:ids.shape[-1]]

    def logits(self, ids: np.ndarray) -> np.ndarray:
        t = self.tiny
        return model(ids, self.weights, t["n_layer"], t["n_head"]) @ self.weights["transformer.wte.weight"].T


# Fresh inputs that GPT-2 katas share: token ids, realistic hidden states, a layer.

def draw_ids(rng, fx: Fixtures, batch: int, seq: int) -> np.ndarray:
    return rng.integers(0, fx.tiny["vocab_size"], size=(batch, seq), dtype=np.int64)


def draw_hidden(rng, fx: Fixtures) -> np.ndarray:
    """Realistic hidden states: embedded random tokens, with a little noise."""
    batch, seq = int(rng.integers(1, 3)), int(rng.integers(2, 10))
    x = fx.embeddings(draw_ids(rng, fx, batch, seq))
    return (x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)


def draw_layer(rng, fx: Fixtures) -> np.ndarray:
    return np.array(int(rng.integers(0, fx.tiny["n_layer"])))


def layer_prefix(inputs: dict) -> str:
    """transformer.h.N. for inputs drawn with a layer, else nothing."""
    return f"transformer.h.{int(inputs['layer'])}." if "layer" in inputs else ""
