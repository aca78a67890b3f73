"""Kata 17's golden data, from Hugging Face's LlamaDecoderLayer, LlamaModel and
LlamaForCausalLM (maintainers only: `kata dev fixtures`)."""

from checker.models.llama_golden import golden_model

FAMILY = "llama"  # the model family whose model and tokenizer the builder is given

# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_17.npz": golden_model}
