"""Kata 19's golden data, from Hugging Face's LlamaForCausalLM with its own KV cache
(DynamicCache), call by call, and its generate (maintainers only: `kata dev fixtures`).

One teacher-forced run: the prompt in one call (prefill), four calls of one token each, a chunk of
four tokens with 17 already cached (with one new token the right mask is all zeros, so only a
chunk shows a mask without the offset), then one more token. The tokens fed are real text, not
the model's choices, so every call's logits are Hugging Face's whatever the learner's earlier
outputs were. Then `generate`'s greedy tokens from another prompt, with its cache.
"""

from __future__ import annotations

import inspect

import numpy as np

from checker.models.llama_golden import PROMPT, TINY, TOP_K, to_numpy, token_ids

FAMILY = "llama"  # the model family whose model and tokenizer the builder is given

TEXT = PROMPT + " there lived an old fisherman who loved the stars"
CALLS = (13, 1, 1, 1, 1, 4, 1)  # tokens per call: the prompt, 4 single tokens, a chunk, 1 more
GREEDY_PROMPT = "The old lighthouse keeper climbed the stairs every night and"
GREEDY_TOKENS = 16
GREEDY_MARGIN = 1e-2  # every greedy step's best logit beats the next by this much: no float32 ties


def _forward(model, ids, cache):
    """One call with Hugging Face's cache (transformers 5.25 renamed past_key_values to cache)."""
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    return model(ids, use_cache=True, **{name: cache}).logits


def cached_run(model, tok) -> dict:
    import torch
    from transformers import DynamicCache

    ids = token_ids(tok, TEXT)[:, :sum(CALLS)]
    assert ids.shape[1] == sum(CALLS) and token_ids(tok, PROMPT).shape[1] == CALLS[0]
    cache = DynamicCache(config=model.config)
    rows, last, start = [], [], 0
    with torch.no_grad():
        for seq in CALLS:
            logits = _forward(model, ids[:, start:start + seq], cache)[0]
            assert cache.get_seq_length() == start + seq
            rows.append(logits)
            last.append(logits[-1])
            start += seq
        uncached = model(ids).logits[0]  # the whole sequence at once, no cache
    cached = torch.cat(rows)  # (positions, vocab): each position from the call that fed it
    top = torch.topk(cached, TOP_K, dim=-1)
    layers = cache.layers
    return {
        "ids": ids.numpy().astype(np.int64), "calls": np.array(CALLS, dtype=np.int64),
        "top_ids": top.indices.numpy().astype(np.int64), "top_logits": to_numpy(top.values),
        "last_logits": to_numpy(last[-1]),  # the final call's logits in full
        "uncached_top_logits": to_numpy(torch.gather(uncached, 1, top.indices)),
        # what Hugging Face's cache holds after the run: keys after RoPE, (layers, batch,
        # kv_heads, positions, head_dim)
        "keys": to_numpy(torch.stack([layer.keys for layer in layers])),
        "values": to_numpy(torch.stack([layer.values for layer in layers])),
    }


def greedy(model, tok) -> dict:
    import torch
    from transformers import GenerationConfig

    ids = token_ids(tok, GREEDY_PROMPT)
    config = GenerationConfig(do_sample=False, max_new_tokens=GREEDY_TOKENS, eos_token_id=None,
                              pad_token_id=TINY["pad_token_id"], use_cache=True,
                              output_logits=True, return_dict_in_generate=True)
    with torch.no_grad():
        gen = model.generate(ids, generation_config=config)
    steps = torch.stack([step[0] for step in gen.logits])
    top = torch.topk(steps, TOP_K, dim=-1)
    margin = (top.values[:, 0] - top.values[:, 1]).min().item()
    assert margin > GREEDY_MARGIN, f"a greedy step nearly ties ({margin:.2g}): choose another prompt"
    new = gen.sequences[0, ids.shape[1]:]
    assert len(set(new.tolist())) >= GREEDY_TOKENS // 2, "the continuation should be varied"
    return {"greedy_prompt": ids.numpy().astype(np.int64), "greedy_ids": new.numpy().astype(np.int64),
            "greedy_top_ids": top.indices.numpy().astype(np.int64),
            "greedy_top_logits": to_numpy(top.values), "greedy_text": np.array(tok.decode(new.tolist()))}


def golden_kv_cache(model, tok) -> dict:
    return {"npz": {**cached_run(model, tok), **greedy(model, tok)}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_19.npz": golden_kv_cache}
