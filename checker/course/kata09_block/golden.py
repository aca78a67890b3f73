"""Kata 9's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

from checker.models.gpt2_golden import trace_block0

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_block(model, tok) -> dict:
    """Kata 9: block 0 on the embeddings, and its halfway point after attention."""
    t = trace_block0(model, tok)
    return {"npz": {"x": t["block.in"], "after_attn": t["ln_2.in"], "out": t["block.out"]}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_09.npz": golden_block}
