"""Kata 16's golden data, from Hugging Face's LlamaMLP inside a full forward (maintainers only:
`kata dev fixtures`)."""

from checker.models.llama_golden import golden_mlp

FAMILY = "llama"  # the model family whose model and tokenizer the builder is given

# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_16.npz": golden_mlp}
