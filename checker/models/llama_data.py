"""The Llama family's fixtures for the parent (numpy only): the tiny Llama's configuration and
weights as the numpy reference (checker/models/llama.py) wants them, and the fresh-input draws
that Part 2's kata folders share."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from checker import fixture_files
from checker.models import llama

CONFIG_FILE = "llama_config.json"
WEIGHTS_FILE = "llama_weights.npz"


@functools.lru_cache(maxsize=2)
def _weights64(fixtures_dir: Path) -> dict:
    weights = llama.as_float64(fixture_files.load(fixtures_dir, WEIGHTS_FILE))
    weights["lm_head.weight"] = weights["model.embed_tokens.weight"]  # tied, stored once
    return weights


class Fixtures:
    def __init__(self, fixtures_dir: Path):
        self.dir = fixtures_dir

    @property
    def values(self) -> dict:
        """The learner's LlamaConfig fields of the tiny model."""
        return fixture_files.load(self.dir, CONFIG_FILE)

    @property
    def config(self) -> llama.Config:
        return llama.Config.of(self.values)

    @property
    def weights(self) -> dict:
        return _weights64(self.dir)

    def embeddings(self, ids: np.ndarray) -> np.ndarray:
        return self.weights["model.embed_tokens.weight"][ids]

    def logits(self, ids: np.ndarray) -> np.ndarray:
        return llama.logits(ids, self.weights, self.config)


def draw_ids(rng, fx: Fixtures, batch: int, seq: int) -> np.ndarray:
    return rng.integers(0, fx.values["vocab_size"], size=(batch, seq), dtype=np.int64)


def draw_hidden(rng, fx: Fixtures, seq_low: int = 2, seq_high: int = 12) -> np.ndarray:
    """Realistic hidden states: embedded random tokens, with a little noise."""
    batch, seq = int(rng.integers(1, 3)), int(rng.integers(seq_low, seq_high))
    x = fx.embeddings(draw_ids(rng, fx, batch, seq))
    return (x + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)


def draw_layer(rng, fx: Fixtures) -> np.ndarray:
    return np.array(int(rng.integers(0, fx.values["num_hidden_layers"])))


def layer_prefix(inputs: dict) -> str:
    return f"model.layers.{int(inputs['layer'])}."
