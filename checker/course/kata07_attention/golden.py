"""Kata 7's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import trace_block0

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_attention(model, tok) -> dict:
    """Kata 7: block 0's attention on ln_1(embeddings), with every stage GPT-2 computes."""
    t = trace_block0(model, tok)
    attn = model.transformer.h[0].attn
    qkv = t["c_attn.out"]
    heads = lambda a: a.reshape(*a.shape[:-1], attn.num_heads, attn.head_dim).transpose(0, 2, 1, 3)  # noqa: E731
    q, k, v = np.split(qkv, 3, axis=-1)
    return {"npz": {
        "x": t["attn.in"], "qkv": qkv, "q": heads(q), "k": heads(k), "v": heads(v),
        "weights": t["weights"], "merged": t["c_proj.in"], "out": t["attn.out"],
    }}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_07.npz": golden_attention}
