"""Kata 18, correct but written differently: names by string replacement, Q/K un-permuted per
head by taking the even rows then the odd rows, metadata read through field.parts, the tied
head as a copy."""
import numpy as np
import gguf

from katas.step_13 import LlamaConfig

# In this order: ".attn_output." must be renamed before "output." would match inside it.
RENAMES = [
    (".attn_norm.", ".input_layernorm."), (".ffn_norm.", ".post_attention_layernorm."),
    (".attn_q.", ".self_attn.q_proj."), (".attn_k.", ".self_attn.k_proj."),
    (".attn_v.", ".self_attn.v_proj."), (".attn_output.", ".self_attn.o_proj."),
    (".ffn_gate.", ".mlp.gate_proj."), (".ffn_up.", ".mlp.up_proj."),
    (".ffn_down.", ".mlp.down_proj."), ("blk.", "model.layers."),
    ("token_embd.", "model.embed_tokens."), ("output_norm.", "model.norm."),
    ("output.", "lm_head."),
]


def _value(reader, key):
    field = reader.fields[key]
    return field.parts[field.data[0]][0].item()  # a scalar stored as a 1-element array


def config_from_gguf(path):
    reader = gguf.GGUFReader(path)
    tokens = reader.fields["tokenizer.ggml.tokens"]
    return LlamaConfig(
        vocab_size=len(tokens.data),
        hidden_size=int(_value(reader, "llama.embedding_length")),
        intermediate_size=int(_value(reader, "llama.feed_forward_length")),
        num_hidden_layers=int(_value(reader, "llama.block_count")),
        num_attention_heads=int(_value(reader, "llama.attention.head_count")),
        num_key_value_heads=int(_value(reader, "llama.attention.head_count_kv")),
        rms_norm_eps=float(_value(reader, "llama.attention.layer_norm_rms_epsilon")),
        rope_theta=float(_value(reader, "llama.rope.freq_base")),
        max_position_embeddings=int(_value(reader, "llama.context_length")),
        tie_word_embeddings=not any(t.name == "output.weight" for t in reader.tensors),
    )


def _unpermute(w, n_heads):
    head_dim = w.shape[0] // n_heads
    heads = [w[h * head_dim:(h + 1) * head_dim] for h in range(n_heads)]
    # llama.cpp interleaved the halves: row 2i came from row i, row 2i+1 from row i + head_dim/2
    return np.concatenate([np.concatenate([r[0::2], r[1::2]]) for r in heads])


def load_gguf(path):
    config = config_from_gguf(path)
    reader = gguf.GGUFReader(path)
    state = {}
    for t in reader.tensors:
        name = t.name
        for old, new in RENAMES:
            name = name.replace(old, new)
        w = np.array(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
        if ".q_proj." in name:
            w = _unpermute(w, config.num_attention_heads)
        if ".k_proj." in name:
            w = _unpermute(w, config.num_key_value_heads)
        state[name] = w
    state.setdefault("lm_head.weight", state["model.embed_tokens.weight"].copy())
    return state
