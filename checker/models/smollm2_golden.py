"""Maintainers only: the SmolLM2 family's side of `kata dev fixtures` (kata 18's golden data).

The model is Hugging Face's LlamaForCausalLM loaded by transformers from the real GGUF file
(checker/models/llama_hf.py); kata 18's builder records its fingerprints, logits and chat answer.
A --model checkpoint is another family's: this one always reads the GGUF."""

from __future__ import annotations

from checker.models import llama_hf
from checker.models.smollm2 import SPEC

FAMILY_FILES: dict = {}  # kata 18's folder names its own files


def load(model_path: str | None):
    echo = lambda text: None  # noqa: E731 - the driver prints each file; fetching is said once
    return llama_hf.load_model(echo=echo), llama_hf.load_tokenizer(echo=echo)


def describe(model, tok, model_path: str | None) -> dict:
    return {"name": SPEC.label, "from": SPEC.requirement, "file": SPEC.filename,
            "sha256": SPEC.sha256, "loaded_by": "transformers AutoModelForCausalLM(gguf_file=...)"}
