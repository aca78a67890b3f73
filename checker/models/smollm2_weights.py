"""SmolLM2's GGUF as a float32 state dict with Hugging Face's names: the checker's own reference
for kata 18 (the parent's fresh-input judgement; tests prove it equal to transformers' own GGUF
loader, tensor by tensor). Read with the `gguf` package; llama.cpp's Q/K row interleaving undone
with the formula measured in LLAMA-NOTES.md."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

# SmolLM2-135M-Instruct's architecture (its config.json; the GGUF file's header says the same).
SMOLLM2_135M = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536,
                    num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                    rms_norm_eps=1e-5, rope_theta=100000.0, max_position_embeddings=8192,
                    tie_word_embeddings=True)

GLOBAL = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
          "output.weight": "lm_head.weight"}
LAYER = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
         "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
         "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
         "ffn_down": "mlp.down_proj"}


def hf_name(name: str) -> str:
    if name in GLOBAL:
        return GLOBAL[name]
    layer, kind, suffix = re.fullmatch(r"blk\.(\d+)\.(\w+)\.(weight|bias)", name).groups()
    return f"model.layers.{layer}.{LAYER[kind]}.{suffix}"


def permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's interleaving of q/k rows (what its converter stores)."""
    rows, cols = w.shape
    return w.reshape(n_heads, 2, rows // n_heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Hugging Face's q/k rows back from llama.cpp's interleaving."""
    rows, cols = w.shape
    return w.reshape(n_heads, rows // n_heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


@functools.lru_cache(maxsize=1)
def state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor, dequantized to float32, by Hugging Face's name (the tied head included).

    The header comes from checker.models.smollm2's reader and the blocks go through
    gguf.quants.dequantize: gguf's own GGUFReader first turns each of the ~100,000 tokenizer
    entries into Python objects (12 s here under load, against 0.3 s)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
    from gguf.quants import dequantize

    from checker.models.smollm2 import read_gguf_header

    header = read_gguf_header(Path(path))
    meta = header.fields
    heads, kv_heads = meta["llama.attention.head_count"], meta["llama.attention.head_count_kv"]
    data = np.memmap(path, dtype=np.uint8, mode="r")
    state = {}
    for gguf_name, (dims, kind, offset) in header.tensors.items():
        qtype = GGMLQuantizationType(kind)
        shape = tuple(int(d) for d in reversed(dims))  # GGUF lists the innermost dimension first
        block, type_size = GGML_QUANT_SIZES[qtype]
        start = header.data_start + offset
        raw = data[start:start + int(np.prod(shape)) // block * type_size]
        raw = raw.reshape(*shape[:-1], shape[-1] // block * type_size)
        array = np.asarray(dequantize(raw, qtype), dtype=np.float32).reshape(shape)
        name = hf_name(gguf_name)
        if name.endswith("q_proj.weight"):
            array = unpermute(array, heads)
        elif name.endswith("k_proj.weight"):
            array = unpermute(array, kv_heads)
        state[name] = array
    state.setdefault("lm_head.weight", state["model.embed_tokens.weight"])
    return state


def config(path: Path) -> dict:
    """The model's shape from the file's llama.* metadata, in the learner's LlamaConfig fields."""
    from checker.models.smollm2 import read_gguf_header

    header = read_gguf_header(Path(path))
    meta = header.fields
    return {"vocab_size": _vocab(header), "hidden_size": meta["llama.embedding_length"],
            "intermediate_size": meta["llama.feed_forward_length"],
            "num_hidden_layers": meta["llama.block_count"],
            "num_attention_heads": meta["llama.attention.head_count"],
            "num_key_value_heads": meta["llama.attention.head_count_kv"],
            "rms_norm_eps": float(meta["llama.attention.layer_norm_rms_epsilon"]),
            "rope_theta": float(meta.get("llama.rope.freq_base", 10000.0)),
            "max_position_embeddings": meta["llama.context_length"],
            "tie_word_embeddings": "output.weight" not in header.tensors}


def _vocab(header) -> int:
    shape = header.tensors["token_embd.weight"][0]  # GGUF lists dimensions innermost first
    return int(max(shape))
