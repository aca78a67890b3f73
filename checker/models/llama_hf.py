"""Maintainers only: Hugging Face's SmolLM2-135M-Instruct loaded from the real GGUF file, the
reference for kata 18 (the learner's own GGUF loader and model on the real weights).

transformers reads the GGUF itself (dequantizing with the gguf package, un-permuting Q and K);
what it computes is recorded so checking needs no torch: per-tensor fingerprints of its state
dict, the logits of a fixed prompt (small: the last position whole, the top TOP_K elsewhere),
and the greedy chat answer to CHAT_QUESTION. torch and transformers are imported lazily.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from checker.models.smollm2 import ensure_gguf

LOGITS_PROMPT = "Rotary position embeddings tell a model where each token is."
CHAT_QUESTION = "What is the capital of France?"
CHAT_MAX_TOKENS = 32
TOP_K = 20
FINGERPRINT_SAMPLES = 8
FINGERPRINT_SEED = 20261202


def load_model(gguf_path: Path | None = None, echo=print):
    """LlamaForCausalLM with SmolLM2's weights from the GGUF, float32, eager attention."""
    import torch
    from transformers import AutoModelForCausalLM

    path = ensure_gguf(gguf_path, echo=echo)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    return model


def load_tokenizer(gguf_path: Path | None = None, echo=print):
    from transformers import AutoTokenizer

    path = ensure_gguf(gguf_path, echo=echo)
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def numpy_state_dict_from_hf(model) -> dict:
    """Every tensor of the model's state dict as float32 numpy, with Hugging Face's names (both
    lm_head.weight and model.embed_tokens.weight: tied, they are the same numbers)."""
    return {name: t.detach().cpu().numpy().astype(np.float32) for name, t in model.state_dict().items()}


def config_dict(model) -> dict:
    """What checker.models.llama.Config needs, from the loaded model's configuration."""
    c = model.config
    return {"hidden_size": c.hidden_size, "num_attention_heads": c.num_attention_heads,
            "num_key_value_heads": c.num_key_value_heads,
            "head_dim": getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
            "rms_norm_eps": float(c.rms_norm_eps), "rope_theta": float(c.rope_parameters["rope_theta"]),
            "num_hidden_layers": c.num_hidden_layers, "intermediate_size": c.intermediate_size,
            "vocab_size": c.vocab_size, "tie_word_embeddings": bool(c.tie_word_embeddings)}


def sample_indices(name: str, size: int, count: int = FINGERPRINT_SAMPLES,
                   seed: int = FINGERPRINT_SEED) -> list[int]:
    """Flat indices sampled from a seed and the tensor's name: the same on every machine."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return sorted(int(i) for i in rng.choice(size, size=min(count, size), replace=False))


def position_weights(size: int) -> np.ndarray:
    """Weights in [0, 1) that vary with the flat position, for `weighted_sum`."""
    return (np.arange(size, dtype=np.int64) * 7919 % 1000) / 1000.0


def fingerprint(name: str, array) -> dict:
    """Shape, float64 sum and sum of squares, a position-weighted sum, and a few values at seeded
    flat indices. Sum and sum of squares cannot see rows in another order or a square matrix
    transposed (kata 18's Q/K permutation and transpose mistakes); the weighted sum always does,
    the sampled values show where."""
    a = np.asarray(array, dtype=np.float64)
    flat = a.reshape(-1)
    index = sample_indices(name, flat.size)
    return {"shape": list(a.shape), "sum": float(flat.sum()), "sum_sq": float((flat * flat).sum()),
            "weighted_sum": float(flat @ position_weights(flat.size)),
            "index": index, "values": [float(flat[i]) for i in index]}


def fingerprints(state_dict: dict) -> dict:
    """name -> fingerprint, for every tensor (JSON-able)."""
    return {name: fingerprint(name, state_dict[name]) for name in sorted(state_dict)}


def logits_record(model, tok, prompt: str = LOGITS_PROMPT, top_k: int = TOP_K) -> dict:
    """The prompt's logits, small: the last position's 49152 values (196 KB as float32) and the
    top top_k ids and values at every position."""
    import torch

    ids = torch.tensor([tok.encode(prompt, add_special_tokens=False)])
    with torch.no_grad():
        logits = model(ids).logits[0]
    top = torch.topk(logits, top_k, dim=-1)
    return {"npz": {"ids": ids.numpy().astype(np.int64), "last_logits": logits[-1].numpy().astype(np.float32),
                    "top_ids": top.indices.numpy().astype(np.int64),
                    "top_logits": top.values.numpy().astype(np.float32),
                    "prompt": np.array(prompt)}}


def chat_answer(model, tok, question: str = CHAT_QUESTION, max_new_tokens: int = CHAT_MAX_TOKENS) -> dict:
    """Greedy answer to one user turn in SmolLM2's chat template, up to <|im_end|>."""
    import torch

    text = tok.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                   add_generation_prompt=True)
    ids = torch.tensor([tok.encode(text, add_special_tokens=False)])
    with torch.no_grad():
        out = model.generate(ids, do_sample=False, max_new_tokens=max_new_tokens,
                             eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
    answer = out[0, ids.shape[1]:].tolist()
    return {"question": question, "prompt": text, "prompt_ids": ids[0].tolist(), "answer_ids": answer,
            "answer_text": tok.decode(answer, skip_special_tokens=True),
            "ends_with_eos": bool(answer and answer[-1] == tok.eos_token_id)}


def real_fixtures(model, tok) -> dict:
    """Kata 18's recorded reference, by file name (relative to a fixtures folder): per-tensor
    fingerprints and the chat answer as JSON, the prompt's logits as npz. About 300 KB in all."""
    return {
        "smollm2/fingerprints.json": {"json": {"config": config_dict(model),
                                               "tensors": fingerprints(numpy_state_dict_from_hf(model))}},
        "smollm2/logits.npz": logits_record(model, tok),
        "smollm2/chat.json": {"json": chat_answer(model, tok)},
    }

