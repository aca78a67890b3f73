"""Kata 2's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import to_numpy, SEED

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_mask(model, tok) -> dict:
    """Kata 2: which (query, key) pairs Hugging Face's GPT-2 lets attention see.

    Captured from the additive mask GPT-2's attention layer receives, with and without earlier
    tokens in the KV cache (num_tokens), so the golden pattern is Hugging Face's own.
    """
    import torch

    captured = []
    attn = model.transformer.h[0].attn
    handle = attn.register_forward_pre_hook(
        lambda module, args, kwargs: captured.append(kwargs.get("attention_mask")), with_kwargs=True
    )
    arrays = {}
    try:
        for seq, past in ((1, 0), (5, 0), (8, 0), (4, 3)):
            captured.clear()
            ids = torch.arange(100, 100 + past + seq).unsqueeze(0)
            with torch.no_grad():
                cache = None
                if past:
                    out = model(ids[:, :past], use_cache=True)
                    cache = getattr(out, "cache", None) or out.past_key_values
                    captured.clear()
                model(ids[:, past:], cache=cache, use_cache=bool(past))
            mask = captured[0]
            if mask is None:  # transformers skipped the mask: every key is visible (seq == 1)
                allowed = np.ones((seq, seq + past), dtype=bool)
            else:
                allowed = (to_numpy(mask[0, 0]) == 0) if mask.dtype != torch.bool else mask[0, 0].numpy()
            arrays[f"allowed_{seq}_{past}"] = np.asarray(allowed, dtype=bool)
    finally:
        handle.remove()
    generator = torch.Generator().manual_seed(SEED + 2)
    scores = torch.randn(5, 5, generator=generator) * 3
    visible = torch.from_numpy(arrays["allowed_5_0"])
    probs = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
    arrays["scores"] = to_numpy(scores)
    arrays["probs"] = to_numpy(probs)
    return {"npz": arrays}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_02.npz": golden_mask}
