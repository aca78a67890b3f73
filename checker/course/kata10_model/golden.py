"""Kata 10's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import to_numpy, sentence

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_model(model, tok) -> dict:
    """Kata 10: GPT2Model's hidden states after every block, and after ln_f."""
    import torch

    ids, _ = sentence(model, tok)
    with torch.no_grad():
        out = model.transformer(ids, output_hidden_states=True)
    states = {f"hidden_{i}": to_numpy(h) for i, h in enumerate(out.hidden_states[:-1])}
    return {"npz": {"ids": ids.numpy().astype(np.int64), "out": to_numpy(out.last_hidden_state), **states}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_10.npz": golden_model}
