"""Kata 13's golden data, from Hugging Face's LlamaRMSNorm (maintainers only: `kata dev fixtures`)."""

from checker.models.llama_golden import golden_rms_norm

FAMILY = "llama"  # the model family whose model and tokenizer the builder is given

# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_13.npz": golden_rms_norm}
