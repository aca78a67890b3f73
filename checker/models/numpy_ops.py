"""The numpy operations that several model families' references share, defined once: softmax,
SiLU and a state dict in float64. gpt2.py, llama.py, moe.py and sampling.py import them, so
`gpt2.softmax`, `llama.as_float64` or `moe.silu` still name these functions. numpy only."""

from __future__ import annotations

import numpy as np


def softmax(x, axis=-1):
    """Softmax along `axis`, shifted by its maximum first; -inf entries get probability 0. In the
    dtype of x (sampling.softmax converts to float64 first)."""
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def silu(x):
    """x * sigmoid(x), the SwiGLU gate's activation (torch's F.silu)."""
    return x / (1.0 + np.exp(-x))


def as_float64(weights) -> dict:
    """A state dict (a dict or an npz file) converted to float64 once (the references accept
    float32 too, converting on each use). moe.as_float64 is another function: one block's
    weights under a prefix."""
    return {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
