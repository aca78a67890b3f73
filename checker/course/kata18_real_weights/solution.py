"""Kata 18: real weights. SmolLM2-135M-Instruct's GGUF file as a Hugging Face state dict."""
import re

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

from katas.step_13 import LlamaConfig

# llama.cpp's tensor names -> Hugging Face's (and so your modules') names.
GLOBAL_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
LAYER_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def hf_name(gguf_name: str) -> str:
    """"blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"."""
    if gguf_name in GLOBAL_NAMES:
        return GLOBAL_NAMES[gguf_name]
    layer, kind, suffix = re.fullmatch(r"blk\.(\d+)\.(\w+)\.(weight|bias)", gguf_name).groups()
    return f"model.layers.{layer}.{LAYER_NAMES[kind]}.{suffix}"


def unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undoes llama.cpp's permutation of q_proj / k_proj rows.

    llama.cpp's RoPE turns adjacent pairs (0,1), (2,3), ... while Hugging Face's turns halves
    (i, i + head_dim/2). So its converter stores each head's rows interleaved: [a0, b0, a1, b1,
    ...] instead of [a0, a1, ..., b0, b1, ...]. Reading each head as (2-element pairs, 2) and
    swapping the two axes puts the halves back.
    """
    rows, cols = w.shape
    return w.reshape(n_heads, rows // n_heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def config_from_gguf(path) -> LlamaConfig:
    """The model's shape, read from the file's llama.* metadata."""
    return config_from_reader(GGUFReader(path))


def config_from_reader(reader: GGUFReader) -> LlamaConfig:
    def meta(key):
        return reader.fields[key].contents()  # the stored value as a Python int, float, str, list

    arch = meta("general.architecture")  # "llama": the prefix of the model's keys
    tensors = {t.name for t in reader.tensors}
    return LlamaConfig(
        vocab_size=len(meta("tokenizer.ggml.tokens")),  # one string per token
        hidden_size=meta(f"{arch}.embedding_length"),
        intermediate_size=meta(f"{arch}.feed_forward_length"),
        num_hidden_layers=meta(f"{arch}.block_count"),
        num_attention_heads=meta(f"{arch}.attention.head_count"),
        num_key_value_heads=meta(f"{arch}.attention.head_count_kv"),
        rms_norm_eps=meta(f"{arch}.attention.layer_norm_rms_epsilon"),  # float32: 9.9999997e-6
        rope_theta=meta(f"{arch}.rope.freq_base"),
        max_position_embeddings=meta(f"{arch}.context_length"),
        tie_word_embeddings="output.weight" not in tensors,  # no separate head: tied
    )


def load_gguf(path) -> dict[str, np.ndarray]:
    """Every tensor of the file, dequantized to float32, under Hugging Face's name."""
    reader = GGUFReader(path)  # reads the header; tensor data is mapped, not read, until used
    config = config_from_reader(reader)
    state = {}
    for tensor in reader.tensors:
        # Quantized blocks (Q4_1, Q8_0) -> float32. F32 tensors come back as read-only views of
        # the mapped file: astype copies them into arrays of our own.
        weights = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        name = hf_name(tensor.name)
        if name.endswith("q_proj.weight"):
            weights = unpermute(weights, config.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            weights = unpermute(weights, config.num_key_value_heads)
        state[name] = weights
    if "lm_head.weight" not in state:  # tied: the head is the embedding matrix
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    return state
