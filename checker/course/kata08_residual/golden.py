"""Kata 8's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

from checker.models.gpt2_golden import trace_block0

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_residual(model, tok) -> dict:
    """Kata 8: the pre-norm residual around block 0's attention: x + attn(ln_1(x))."""
    t = trace_block0(model, tok)
    return {"npz": {"x": t["block.in"], "normed": t["ln_1.out"], "sublayer": t["attn.out"],
                    "out": t["ln_2.in"]}}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_08.npz": golden_residual}
