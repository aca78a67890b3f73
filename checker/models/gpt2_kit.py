"""The GPT-2 family's side of the hidden tests (Part 1): the tiny GPT-2 built with the learner's
own GPT2Config, GPT-2's weights loaded into the learner's modules by name, and the fresh-input
runner of a GPT-2 module kata."""

from __future__ import annotations

from checker.models import gpt2_weights as weights
from checker.paths import fixtures_dir
from checker.child.testkit import build, ids_tensor, load_named, once, outputs, root, tensor


def tiny_config():
    """The course's tiny GPT-2, built with the learner's own GPT2Config from kata 1."""
    try:
        return weights.learner_config(fixtures_dir(root()))
    except Exception as exc:  # noqa: BLE001
        from checker.child.learner_import import LearnerImportError

        raise LearnerImportError(
            f"This kata builds the tiny GPT-2 from your kata 1 GPT2Config, which failed: "
            f"{type(exc).__name__}: {exc}. Run `kata check 1` first."
        ) from None


def load_gpt2(module, prefix: str, what: str, keep: tuple[str, ...] = ("",)) -> bool:
    """Loads GPT-2's weights into the learner's module by name; explains a mismatch of names."""
    return load_named(module, weights.gpt2_state(fixtures_dir(root()), prefix, keep), what, "GPT-2")


def gpt2_module(what: str, factory, prefix: str, keep: tuple[str, ...] = ("",)):
    """Builds a learner module and loads GPT-2's weights into it; None (recorded) on failure."""
    module = build(what, factory)
    if module is not None and load_gpt2(module, prefix, what.split("(")[0], keep):
        return module
    return None


def gpt2_outputs(name: str, factory, prefix: str, inputs: dict, keep: tuple[str, ...] = ("",),
                 once_key: str | None = None):
    """Fresh-input runner of a GPT-2 module kata: builds the learner's module, loads GPT-2's
    weights, runs it once on inputs["x"] (hidden states) or inputs["ids"] (token ids). With
    `once_key`, the module the hidden tests built under that key is reused."""
    make = lambda: gpt2_module(f"{name}(config)", factory, prefix, keep)  # noqa: E731
    module = once(once_key, make) if once_key else make()
    if module is None:
        return None
    given = tensor(inputs["x"]) if "x" in inputs else ids_tensor(inputs["ids"])
    return outputs(f"{name}(fresh input)", lambda: module(given))
