"""Kata 11's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import to_numpy, sentence

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_lm_head(model, tok) -> dict:
    """Kata 11: the logits for every position of the sentence."""
    import torch

    ids, _ = sentence(model, tok)
    with torch.no_grad():
        logits = model(ids).logits
    return {"npz": {"ids": ids.numpy().astype(np.int64), "logits": to_numpy(logits)}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_11.npz": golden_lm_head}
