"""Maintainers only: the Part 3 family's golden data source for katas 20 and 21 (uses torch).

Kata 20 (choosing the next token) needs real next-token logits over a real vocabulary: they come
from the same seeded tiny GPT-2 as Part 1 (GPT-2's 50257-token vocabulary and BPE), or from a
real GPT-2 checkpoint with `kata dev fixtures --model PATH`. Kata 21 (mixture of experts) builds
its own seeded Mixtral block in its golden.py and needs no model here. Each kata's builder lives
in its folder (checker/course/NN_slug/golden.py); checker/dev/build_fixtures.py drives them.
"""

from __future__ import annotations

from checker.models import gpt2_golden

FAMILY_FILES: dict = {}  # no family-wide files: each kata's npz holds what it reads


def load(model_path: str | None):
    """The model whose logits kata 20 filters, and its tokenizer (GPT-2's)."""
    return gpt2_golden.load(model_path)


def describe(model, tok, model_path: str | None) -> dict:
    """What the manifest records about the source of Part 3's logits."""
    return {
        "name": model_path or "tiny-gpt2 (seeded), logits for kata 20",
        "seed": gpt2_golden.SEED,
        "config": {k: getattr(model.config, k, None) for k in gpt2_golden.TINY_CONFIG}
        if model is not None else None,
        "note": "kata 21's Mixtral block is built and seeded in its own golden.py",
    }
