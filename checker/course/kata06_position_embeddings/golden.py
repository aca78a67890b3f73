"""Kata 6's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import to_numpy, sentence, trace_block0

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_position_embeddings(model, tok) -> dict:
    """Kata 6: wpe for positions 0..T-1, and wte + wpe as GPT-2 adds them."""
    import torch

    ids, _ = sentence(model, tok)
    with torch.no_grad():
        pos = model.transformer.wpe(torch.arange(ids.shape[1]))
    t = trace_block0(model, tok)
    return {"npz": {"ids": ids.numpy().astype(np.int64), "out": to_numpy(pos), "embeddings": t["block.in"]}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_06.npz": golden_position_embeddings}
