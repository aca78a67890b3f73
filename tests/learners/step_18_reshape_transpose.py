"""Kata 18, correct but written differently: an explicit per-layer name table, the un-permute as
reshape + transpose(0, 2, 1, 3) with head_dim from the metadata, tensors read by name, the
architecture prefix taken from general.architecture."""
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

from katas.step_13 import LlamaConfig


def _meta(reader):
    return {key: field.contents() for key, field in reader.fields.items()
            if not key.startswith("tokenizer.ggml.")}


def config_from_gguf(path):
    reader = GGUFReader(path)
    m = _meta(reader)
    a = m["general.architecture"] + "."
    embedding = next(t for t in reader.tensors if t.name == "token_embd.weight")
    return LlamaConfig(
        vocab_size=int(embedding.shape[1]),  # GGUF shapes are (cols, rows): (576, 49152)
        hidden_size=m[a + "embedding_length"],
        intermediate_size=m[a + "feed_forward_length"],
        num_hidden_layers=m[a + "block_count"],
        num_attention_heads=m[a + "attention.head_count"],
        num_key_value_heads=m[a + "attention.head_count_kv"],
        rms_norm_eps=m[a + "attention.layer_norm_rms_epsilon"],
        rope_theta=m[a + "rope.freq_base"],
        max_position_embeddings=m[a + "context_length"],
        tie_word_embeddings=all(t.name != "output.weight" for t in reader.tensors),
    )


def _unpermute(w, n_heads, head_dim):
    # stored per head as (head_dim/2 pairs, 2); Hugging Face wants (2 halves, head_dim/2)
    cols = w.shape[1]
    return w.reshape(n_heads, head_dim // 2, 2, cols).transpose(0, 2, 1, 3).reshape(-1, cols)


def load_gguf(path):
    config = config_from_gguf(path)
    reader = GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}

    def read(name):
        t = tensors[name]
        return dequantize(t.data, t.tensor_type).astype(np.float32, copy=True)

    state = {
        "model.embed_tokens.weight": read("token_embd.weight"),
        "model.norm.weight": read("output_norm.weight"),
    }
    state["lm_head.weight"] = (read("output.weight") if "output.weight" in tensors
                               else state["model.embed_tokens.weight"])
    d = config.head_dim
    for i in range(config.num_hidden_layers):
        hf, gg = f"model.layers.{i}.", f"blk.{i}."
        state[hf + "input_layernorm.weight"] = read(gg + "attn_norm.weight")
        state[hf + "post_attention_layernorm.weight"] = read(gg + "ffn_norm.weight")
        state[hf + "self_attn.q_proj.weight"] = _unpermute(
            read(gg + "attn_q.weight"), config.num_attention_heads, d)
        state[hf + "self_attn.k_proj.weight"] = _unpermute(
            read(gg + "attn_k.weight"), config.num_key_value_heads, d)
        state[hf + "self_attn.v_proj.weight"] = read(gg + "attn_v.weight")
        state[hf + "self_attn.o_proj.weight"] = read(gg + "attn_output.weight")
        state[hf + "mlp.gate_proj.weight"] = read(gg + "ffn_gate.weight")
        state[hf + "mlp.up_proj.weight"] = read(gg + "ffn_up.weight")
        state[hf + "mlp.down_proj.weight"] = read(gg + "ffn_down.weight")
    return state
