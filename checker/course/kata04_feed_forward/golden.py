"""Kata 4's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

from checker.models.gpt2_golden import trace_block0

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_mlp(model, tok) -> dict:
    """Kata 4: block 0's MLP on the normalized sentence, with its stages."""
    t = trace_block0(model, tok)
    return {"npz": {"x": t["mlp.in"], "c_fc": t["c_fc.out"], "gelu": t["act.out"], "out": t["mlp.out"]}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_04.npz": golden_mlp}
