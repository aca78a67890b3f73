"""The Llama family's side of the hidden tests (Part 2): the tiny Llama built with the learner's
own LlamaConfig (kata 13), its weights loaded into the learner's modules by Hugging Face's names,
and the fresh-input runner of a Llama module kata."""

from __future__ import annotations

import importlib

import numpy as np

from checker.child.testkit import build, fixture, ids_tensor, load_named, once, outputs, tensor
from checker.models.smollm2_weights import SMOLLM2_135M  # noqa: F401 - the hidden tests' name for it

CONFIG_FILE = "llama_config.json"
WEIGHTS_FILE = "llama_weights.npz"
MODEL = "SmolLM2"  # how messages name the architecture the weights come from
TIED = "lm_head.weight"  # Hugging Face's state dict holds the tied head under both names

# SmolLM2-135M-Instruct's configuration, as Hugging Face loads it from the GGUF file
# (LLAMA-NOTES.md): LlamaConfig()'s defaults in kata 13.


def tiny_values() -> dict:
    return dict(fixture(CONFIG_FILE))


def tiny_config():
    """The course's tiny Llama, built with the learner's own LlamaConfig from kata 13."""
    try:
        return importlib.import_module("katas.step_13").LlamaConfig(**tiny_values())
    except Exception as exc:  # noqa: BLE001
        from checker.child.learner_import import LearnerImportError

        raise LearnerImportError(
            f"This kata builds the tiny Llama from your kata 13 LlamaConfig, which failed: "
            f"{type(exc).__name__}: {exc}. Run `kata check 13` first."
        ) from None


def weights64() -> dict:
    """The tiny Llama's weights (Hugging Face's names, the tied head included) as float64."""
    arrays = fixture(WEIGHTS_FILE)
    named = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
    named[TIED] = named["model.embed_tokens.weight"]
    return named


def llama_state(prefix: str = "", keep: tuple[str, ...] = ("",)) -> dict:
    """The weights under `prefix` (e.g. "model.layers.0.mlp."), the prefix removed, as MAX
    tensors; torch's Linear and MAX's Linear both store [out, in], so nothing is transposed."""
    arrays = dict(fixture(WEIGHTS_FILE))
    arrays[TIED] = arrays["model.embed_tokens.weight"]
    return {name[len(prefix):]: tensor(array) for name, array in arrays.items()
            if name.startswith(prefix) and name[len(prefix):].startswith(keep)}


def llama_module(what: str, factory, prefix: str, keep: tuple[str, ...] = ("",)):
    """Builds a learner module and loads the tiny Llama's weights into it; None (recorded)."""
    module = build(what, factory)
    if module is None:
        return None
    aliases = frozenset({TIED[len(prefix):]}) if TIED.startswith(prefix) else frozenset()
    state = llama_state(prefix, keep)
    if load_named(module, state, what.split("(")[0], MODEL, aliases):
        return module
    return None


def tiny_model(learner, class_name: str):
    """Your CLASS_NAME(config) with the tiny Llama's weights, built once per check (None if that
    failed, said by the test that built it first)."""
    config = tiny_config()
    return once("model", lambda: llama_module(f"{class_name}(config)",
                                              lambda: getattr(learner, class_name)(config), ""))


def llama_outputs(name: str, factory, prefix: str, inputs: dict, keep: tuple[str, ...] = ("",),
                  once_key: str | None = None):
    """Fresh-input runner of a Llama module kata: the learner's module with the tiny Llama's
    weights, run once on inputs["x"] (hidden states) or inputs["ids"] (token ids)."""
    make = lambda: llama_module(f"{name}(config)", factory, prefix, keep)  # noqa: E731
    module = once(once_key, make) if once_key else make()
    if module is None:
        return None
    given = tensor(inputs["x"]) if "x" in inputs else ids_tensor(inputs["ids"])
    return outputs(f"{name}(fresh input)", lambda: module(given))
