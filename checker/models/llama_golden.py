"""Maintainers only: Part 2's golden data (katas 13-17) from Hugging Face's own Llama modules.

Like checker/models/gpt2_golden.py for GPT-2: a tiny LlamaForCausalLM with SmolLM2's real
49152-token vocabulary and tokenizer, grouped-query attention (4 query heads, 2 kv heads),
rope_theta 100000 and two layers, every weight drawn from a fixed seed at a scale that makes
outputs informative (the default 0.02 init gives near-uniform attention and a greedy
continuation that repeats itself). Each golden function records one kata's inputs and outputs as
Hugging Face computes them; the inputs are real text tokenized with SmolLM2's tokenizer (from
the GGUF file). `build_tiny_fixtures(out_dir)` writes them all at once (for the tests);
`kata dev fixtures` (checker/dev/build_fixtures.py) calls them through the kata folders'
golden.py files and the family's side at the bottom of this file. torch and transformers are
imported lazily.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Callable

import numpy as np

SEED = 20261202
TINY = dict(
    vocab_size=49152, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, head_dim=16, rope_theta=100000.0,
    rms_norm_eps=1e-5, max_position_embeddings=256, tie_word_embeddings=True,
    hidden_act="silu", attention_bias=False, mlp_bias=False, attention_dropout=0.0,
    bos_token_id=1, eos_token_id=2, pad_token_id=2,
)
WEIGHT_STD = 0.15     # every Linear: N(0, WEIGHT_STD)
EMBED_STD = 0.5       # the (tied) embedding: N(0, EMBED_STD)
NORM_STD = 0.25       # RMSNorm scales: 1 + N(0, NORM_STD)
SENTENCE = ("The quick brown fox jumps over the lazy dog, while Paris, the capital of France, "
            "sleeps under 3 stars.")
PROMPT = "Once upon a time, in a small village by the sea,"
ROPE_START = 37       # kata 14's table offset: positions 37 .. 37 + len - 1
SMALL_SCALE = 0.01    # kata 13's quiet input, where eps is comparable to mean(x^2)
GREEDY_TOKENS = 12
TOP_K = 20

WEIGHTS_FILE = "llama_weights.npz"


def tiny_config():
    from transformers import LlamaConfig

    config = LlamaConfig(**TINY)
    config._attn_implementation = "eager"  # the plain softmax path, the one the katas write
    return config


def tiny_model(seed: int = SEED):
    """The seeded tiny Llama every golden tensor of katas 13-17 comes from."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(tiny_config())
    model.config._attn_implementation = "eager"
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():  # tied: lm_head is embed_tokens, listed once
            noise = torch.randn(param.shape, generator=generator)
            if name.endswith("norm.weight"):
                param.copy_(1.0 + NORM_STD * noise)
            else:
                param.copy_((EMBED_STD if "embed_tokens" in name else WEIGHT_STD) * noise)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.eval()
    return model


def tokenizer(gguf_path=None):
    """Hugging Face's tokenizer for SmolLM2's GGUF file (fetched into the model cache if needed)."""
    from transformers import AutoTokenizer

    from checker.models.smollm2 import ensure_gguf

    path = ensure_gguf(gguf_path)
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def to_numpy(tensor) -> np.ndarray:
    """A torch tensor as float32 numpy (as gpt2_golden.to_numpy)."""
    return tensor.detach().cpu().numpy().astype(np.float32, copy=False)


def token_ids(tok, text: str):
    """text's token ids as a (1, seq) torch tensor, without special tokens."""
    import torch

    return torch.tensor([tok.encode(text, add_special_tokens=False)])


def _trace(model, tok, text: str = SENTENCE) -> dict:
    """Inputs and outputs of layer 0's parts during a full forward pass of the text.

    Captured with hooks, so every number is what Hugging Face computes inside the model, with
    its own causal mask and rotary tables (calling LlamaAttention alone needs both passed in).
    """
    import torch

    layer = model.model.layers[0]
    seen: dict = {}

    def keep(name):
        def hook(module, args, kwargs, out):
            first = args[0] if args else kwargs.get("hidden_states", next(iter(kwargs.values())))
            seen.setdefault(name + ".in", first)
            seen.setdefault(name + ".out", out[0] if isinstance(out, tuple) else out)
            if name == "attn":
                seen.setdefault("attn.mask", kwargs.get("attention_mask"))
                seen.setdefault("attn.cos", kwargs["position_embeddings"][0])
                seen.setdefault("attn.sin", kwargs["position_embeddings"][1])
        return hook

    parts = {"layer": layer, "input_layernorm": layer.input_layernorm, "attn": layer.self_attn,
             "q_proj": layer.self_attn.q_proj, "k_proj": layer.self_attn.k_proj,
             "v_proj": layer.self_attn.v_proj, "o_proj": layer.self_attn.o_proj,
             "post_attention_layernorm": layer.post_attention_layernorm, "mlp": layer.mlp,
             "gate_proj": layer.mlp.gate_proj, "up_proj": layer.mlp.up_proj,
             "act": layer.mlp.act_fn, "down_proj": layer.mlp.down_proj}
    parts.update({f"layers.{i}": m for i, m in enumerate(model.model.layers)})
    hooks = [m.register_forward_hook(keep(n), with_kwargs=True) for n, m in parts.items()]
    try:
        with torch.no_grad():
            out = model(token_ids(tok, text), output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
    seen["attn.weights"] = out.attentions[0]
    # Embeddings, then every layer's output before the final norm (transformers' own
    # hidden_states ends with the normed output instead of the last layer's).
    n = len(model.model.layers)
    seen["hidden_states"] = [seen["layers.0.in"]] + [seen[f"layers.{i}.out"] for i in range(n)]
    return seen


def _heads(t, n: int, head_dim: int):
    batch, seq, _ = t.shape
    return t.view(batch, seq, n, head_dim).transpose(1, 2)


def golden_rms_norm(model, tok) -> dict:
    """Kata 13: layer 0's input_layernorm on the sentence's embeddings, and on the same
    embeddings times 0.01, where mean(x^2) is near eps and eps mistakes show."""
    import torch

    norm = model.model.layers[0].input_layernorm
    with torch.no_grad():
        x = model.model.embed_tokens(token_ids(tok, SENTENCE))
        small = x * SMALL_SCALE
        out, out_small = norm(x), norm(small)
    return {"npz": {"x": to_numpy(x), "out": to_numpy(out), "x_small": to_numpy(small), "out_small": to_numpy(out_small),
                    "weight": to_numpy(norm.weight), "eps": np.array(norm.variance_epsilon, dtype=np.float64)}}


def golden_rotary(model, tok) -> dict:
    """Kata 14: LlamaRotaryEmbedding's tables at positions ROPE_START.. (and 0..), and
    apply_rotary_pos_emb on layer 0's queries and keys of the sentence."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    t = _trace(model, tok)
    cfg = model.config
    q = _heads(t["q_proj.out"], cfg.num_attention_heads, cfg.head_dim)
    k = _heads(t["k_proj.out"], cfg.num_key_value_heads, cfg.head_dim)
    seq = q.shape[2]
    rotary = model.model.rotary_emb
    with torch.no_grad():
        cos, sin = rotary(q, torch.arange(ROPE_START, ROPE_START + seq)[None])
        cos0, sin0 = rotary(q, torch.arange(seq)[None])
        q_out, k_out = apply_rotary_pos_emb(q, k, cos, sin)
    return {"npz": {
        "start": np.array(ROPE_START), "theta": np.array(cfg.rope_parameters["rope_theta"], dtype=np.float64),
        "head_dim": np.array(cfg.head_dim), "seq_len": np.array(seq),
        "cos": to_numpy(cos[0]), "sin": to_numpy(sin[0]), "cos_0": to_numpy(cos0[0]), "sin_0": to_numpy(sin0[0]),
        "q": to_numpy(q), "k": to_numpy(k), "q_out": to_numpy(q_out), "k_out": to_numpy(k_out),
    }}


def golden_attention(model, tok) -> dict:
    """Kata 15: layer 0's LlamaAttention on input_layernorm(embeddings), inside a full forward
    (positions 0.., Hugging Face's causal mask), with its stages; and repeat_kv on its keys."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb, repeat_kv

    t = _trace(model, tok)
    cfg = model.config
    n_rep = cfg.num_attention_heads // cfg.num_key_value_heads
    q = _heads(t["q_proj.out"], cfg.num_attention_heads, cfg.head_dim)
    k = _heads(t["k_proj.out"], cfg.num_key_value_heads, cfg.head_dim)
    v = _heads(t["v_proj.out"], cfg.num_key_value_heads, cfg.head_dim)
    with torch.no_grad():
        q_rot, k_rot = apply_rotary_pos_emb(q, k, t["attn.cos"], t["attn.sin"])
        k_rep = repeat_kv(k_rot, n_rep)
    mask = t["attn.mask"]
    allowed = (np.ones((q.shape[2],) * 2, bool) if mask is None else
               (to_numpy(mask[0, 0]) == 0) if mask.dtype != torch.bool else mask[0, 0].numpy())
    return {"npz": {
        "x": to_numpy(t["attn.in"]), "q": to_numpy(q), "k": to_numpy(k), "v": to_numpy(v),
        "q_rot": to_numpy(q_rot), "k_rot": to_numpy(k_rot), "kv_repeated": to_numpy(k_rep),  # repeat_kv(k_rot)
        "n_rep": np.array(n_rep), "allowed": np.asarray(allowed, bool),
        "weights": to_numpy(t["attn.weights"]), "merged": to_numpy(t["o_proj.in"]), "out": to_numpy(t["attn.out"]),
    }}


def golden_mlp(model, tok) -> dict:
    """Kata 16: layer 0's LlamaMLP on post_attention_layernorm's output, with its stages."""
    t = _trace(model, tok)
    return {"npz": {"x": to_numpy(t["mlp.in"]), "gate": to_numpy(t["gate_proj.out"]), "up": to_numpy(t["up_proj.out"]),
                    "act": to_numpy(t["act.out"]), "hidden": to_numpy(t["down_proj.in"]), "out": to_numpy(t["mlp.out"])}}


def golden_model(model, tok) -> dict:
    """Kata 17: layer 0 (input, halfway point, output); the model's hidden states after every
    layer, after the final norm, and its logits (the last position whole, the top TOP_K at
    every position: the full table would be MBs); the greedy continuation of PROMPT."""
    import torch

    t = _trace(model, tok)
    ids = token_ids(tok, SENTENCE)
    with torch.no_grad():
        out = model.model(ids)
        logits = model(ids).logits[0]
    top = torch.topk(logits, TOP_K, dim=-1)
    states = {f"hidden_{i}": to_numpy(h) for i, h in enumerate(t["hidden_states"])}
    return {"npz": {
        "ids": ids.numpy().astype(np.int64),
        "layer_x": to_numpy(t["layer.in"]), "layer_after_attn": to_numpy(t["post_attention_layernorm.in"]),
        "layer_out": to_numpy(t["layer.out"]),
        **states, "out": to_numpy(out.last_hidden_state),
        "last_logits": to_numpy(logits[-1]), "top_ids": top.indices.numpy().astype(np.int64),
        "top_logits": to_numpy(top.values),
        **_greedy(model, tok),
    }}


def _greedy(model, tok) -> dict:
    import torch
    from transformers import GenerationConfig

    ids = token_ids(tok, PROMPT)
    # No end-of-sequence stop: every golden continuation has GREEDY_TOKENS tokens.
    config = GenerationConfig(do_sample=False, max_new_tokens=GREEDY_TOKENS, eos_token_id=None,
                              pad_token_id=TINY["pad_token_id"], output_logits=True,
                              return_dict_in_generate=True)
    with torch.no_grad():
        gen = model.generate(ids, generation_config=config)
    steps = torch.stack([step[0] for step in gen.logits])
    top = torch.topk(steps, TOP_K, dim=-1)
    tokens = gen.sequences[0]
    return {"prompt_ids": ids.numpy().astype(np.int64), "greedy_ids": tokens.numpy().astype(np.int64)[None, :],
            "greedy_top_ids": top.indices.numpy().astype(np.int64), "greedy_top_logits": to_numpy(top.values),
            "greedy_text": np.array(tok.decode(tokens.tolist()))}


def tiny_weights(model, tok=None) -> dict:
    """The tiny model's state dict in Hugging Face's names, float32. lm_head.weight is left out:
    it is model.embed_tokens.weight (tied), and one 12.6 MB copy is enough."""
    return {"npz": {name: to_numpy(t) for name, t in model.state_dict().items() if name != "lm_head.weight"}}


# fixture file (relative to the output folder) -> the function that makes its content
BUILDERS: dict[str, Callable] = {
    "golden/step_13.npz": golden_rms_norm,
    "golden/step_14.npz": golden_rotary,
    "golden/step_15.npz": golden_attention,
    "golden/step_16.npz": golden_mlp,
    "golden/step_17.npz": golden_model,
    WEIGHTS_FILE: tiny_weights,
}


def _write(path: Path, arrays: dict) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # savez on a handle: no ".npz" appended, stable bytes
        np.savez(handle, **arrays)
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}


def build_tiny_fixtures(out_dir, echo: Callable[[str], None] = print, gguf_path=None) -> dict:
    """Writes katas 13-17's golden files and the tiny weights under out_dir; returns a
    manifest-style summary (files with sha256 and shapes, model, versions). Writes no manifest:
    the fixture driver decides where these files and their manifest entries go."""
    import hashlib

    import torch
    import transformers

    torch.use_deterministic_algorithms(True)
    out_dir = Path(out_dir)
    model, tok = tiny_model(), tokenizer(gguf_path)
    files = {}
    for name, make in BUILDERS.items():
        echo(f"  {name}")
        summary = _write(out_dir / name, make(model, tok)["npz"])
        files[name] = {"sha256": hashlib.sha256((out_dir / name).read_bytes()).hexdigest(), "arrays": summary}
    return {
        "model": _summary(),
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "files": files,
    }


if __name__ == "__main__":  # python -m checker.models.llama_golden OUT_DIR
    import sys

    print(json.dumps(build_tiny_fixtures(Path(sys.argv[1])), indent=2)[:2000])


# --- The family's side of `kata dev fixtures` (checker/dev/build_fixtures.py): each Part 2 kata folder's
# golden.py names FAMILY = "llama" and its builder; the family builds its own files below.

CONFIG_FILE = "llama_config.json"
# The fields of the learner's LlamaConfig (kata 13): what the hidden tests build the tiny model with.
LEARNER_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                  "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta",
                  "max_position_embeddings", "tie_word_embeddings")


def learner_config(model, tok=None) -> dict:
    """The tiny model's configuration in the learner's LlamaConfig fields (kata 13)."""
    return {"json": {field: TINY[field] for field in LEARNER_FIELDS}}


FAMILY_FILES = {WEIGHTS_FILE: tiny_weights, CONFIG_FILE: learner_config}


def load(model_path: str | None):
    """The tiny seeded Llama and SmolLM2's tokenizer. A --model checkpoint is another family's
    (GPT-2's): Part 2's golden data always come from the tiny Llama."""
    return tiny_model(), tokenizer()


def _summary() -> dict:
    return {"name": "tiny-llama (seeded, SmolLM2's vocabulary)", "config": dict(TINY), "seed": SEED,
            "init": f"Linear weights N(0, {WEIGHT_STD}); embedding N(0, {EMBED_STD}); "
                    f"RMSNorm scales 1 + N(0, {NORM_STD})",
            "sentence": SENTENCE, "prompt": PROMPT, "tokenizer": "SmolLM2-135M-Instruct GGUF (transformers)"}


def describe(model, tok, model_path: str | None) -> dict:
    """What the manifest records about the model the fixtures came from."""
    return _summary()
