"""Kata 18: real weights.

SmolLM2-135M-Instruct, a real pretrained chat model, is stored as a GGUF file (llama.cpp's
format). Read it into a state dict with Hugging Face's names, and your katas 13-17 answer
questions. Read katas/step_18.md, then run `kata check 18`.
"""

import numpy as np  # noqa: F401 - you will need it
from gguf import GGUFReader  # noqa: F401 - you will need it
from gguf.quants import dequantize  # noqa: F401 - you will need it

from katas.step_13 import LlamaConfig


def config_from_gguf(path) -> LlamaConfig:
    """The model's shape, from the file's llama.* metadata (and its tensors: is there an
    output.weight, or is the head tied to the embedding?)."""
    # TODO: GGUFReader(path).fields[key].contents() gives a metadata value.
    return None


def load_gguf(path) -> dict[str, np.ndarray]:
    """Every tensor of the file as a float32 numpy array, under Hugging Face's name.

    "blk.0.attn_q.weight" becomes "model.layers.0.self_attn.q_proj.weight", and so on (the
    lesson has the table); q_proj and k_proj rows un-permuted; "lm_head.weight" present even
    though the file ties it to the embedding.
    """
    # TODO: for each tensor of GGUFReader(path).tensors: dequantize, rename, un-permute q and
    # k, collect. Then the tied head.
    return None
