"""Kata 15's golden data, from Hugging Face's LlamaAttention and repeat_kv inside a full forward
(maintainers only: `kata dev fixtures`)."""

from checker.models.llama_golden import golden_attention

FAMILY = "llama"  # the model family whose model and tokenizer the builder is given

# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_15.npz": golden_attention}
