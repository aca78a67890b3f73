"""Kata 18's golden data, from transformers' own GGUF loader on SmolLM2-135M-Instruct's file
(maintainers only: `kata dev fixtures`): every tensor's fingerprint, the configuration, the
logits of a prompt and the greedy answer to a chat question."""

from checker.models import llama_hf

FAMILY = "smollm2"  # the model family whose model and tokenizer the builder is given


def golden_reference(model, tok) -> dict:
    return {"json": {"config": llama_hf.config_dict(model),
                     "fingerprints": llama_hf.fingerprints(llama_hf.numpy_state_dict_from_hf(model)),
                     "chat": llama_hf.chat_answer(model, tok)}}


def golden_logits(model, tok) -> dict:
    return llama_hf.logits_record(model, tok)


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_18.json": golden_reference, "golden/step_18.npz": golden_logits}
