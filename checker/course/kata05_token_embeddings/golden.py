"""Kata 5's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import to_numpy, SENTENCE, PROMPT

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_token_embeddings(model, tok) -> dict:
    """Kata 5: wte rows for real BPE token ids (two texts, batch 2)."""
    import torch

    texts = [SENTENCE, "GPT-2 reads text as tokens, not as letters or words!!"]
    rows = [tok.encode(t) for t in texts]
    width = min(len(r) for r in rows)
    ids = torch.tensor([r[:width] for r in rows])
    with torch.no_grad():
        out = model.transformer.wte(ids)
    return {"npz": {"ids": ids.numpy().astype(np.int64), "out": to_numpy(out),
                    "prompt_ids": np.array(tok.encode(PROMPT), dtype=np.int64)}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_05.npz": golden_token_embeddings}
