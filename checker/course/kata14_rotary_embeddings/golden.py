"""Kata 14's golden data, from Hugging Face's LlamaRotaryEmbedding and apply_rotary_pos_emb
(maintainers only: `kata dev fixtures`)."""

from checker.models.llama_golden import golden_rotary

FAMILY = "llama"  # the model family whose model and tokenizer the builder is given

# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_14.npz": golden_rotary}
