"""Kata 18's child-side helpers, shared by its hidden tests and its fresh-input spec: the GGUF
file's path, and the learner's state dict and model, each made once per check; then the words of
the hidden tests' two longest messages (tensors that differ, an answer token that differs)."""

import importlib
import os

import numpy as np
import pytest

from checker.child.testkit import FAILED, attempt, build, expect, load_named, once, tensor
from checker.protocol import Env


def gguf_path() -> str:
    path = os.environ.get(Env.GGUF)
    if not path:
        pytest.fail("The SmolLM2 file was not given to this check (run it with `kata check 18`).",
                    pytrace=False)
    return path


def learner_state(learner):
    """The learner's load_gguf(path), once per check; None after saying what was wrong."""
    def load():
        state = attempt("load_gguf(path)", lambda: learner.load_gguf(gguf_path()))
        if state is FAILED:
            return None
        if not expect(isinstance(state, dict), f"load_gguf should return a dict of name -> numpy "
                                               f"array; it returned {type(state).__name__}."):
            return None
        return state
    return once("state", load)


def learner_model(learner):
    """Your LlamaForCausalLM (kata 17) with your loaded weights, once per check."""
    def make():
        config = attempt("config_from_gguf(path)", lambda: learner.config_from_gguf(gguf_path()))
        state = learner_state(learner)
        if config is FAILED or state is None:
            return None
        model_class = importlib.import_module("katas.step_17").LlamaForCausalLM
        model = build("LlamaForCausalLM(config_from_gguf(path)) from your kata 17",
                      lambda: model_class(config))
        if model is None:
            return None
        tensors = {name: tensor(np.ascontiguousarray(array)) for name, array in state.items()
                   if isinstance(array, np.ndarray)}
        loaded = load_named(model, tensors, "LlamaForCausalLM", "SmolLM2", frozenset({"lm_head.weight"}))
        return model if loaded else None
    return once("model", make)


def tensors_message(wrong: list[tuple[str, str, str]], shown: int = 4) -> str:
    """The tensors that differ from Hugging Face's, as (name, the numbers at one place, the named
    mistake or ""): the first `shown` with their numbers, then each named mistake once."""
    listed = "; ".join(f"{name} ({numbers})" for name, numbers, _ in wrong[:shown])
    more = f"; and {len(wrong) - shown} more" if len(wrong) > shown else ""
    advice = list(dict.fromkeys(mistake for _, _, mistake in wrong if mistake))
    return (f"{len(wrong)} {'tensor differs' if len(wrong) == 1 else 'tensors differ'} from Hugging Face's: "
            f"{listed}{more}." + "".join(" " + text for text in advice))


def token_text(decode, token: int) -> str:
    """Token `token` as the text it stands for, quoted ("" where it cannot be decoded)."""
    try:
        return repr(decode([int(token)]))
    except Exception:  # noqa: BLE001 - the id alone still says it
        return ""


def answer_token_message(step: int, token: int, expected: int, answer: str, decode) -> str:
    """An answer token that is not Hugging Face's, by id and by text."""
    def shown(t: int) -> str:
        text = token_text(decode, t)
        return f"{t} ({text})" if text else str(t)
    return (f"answer token {step} is {shown(token)}; Hugging Face's is {shown(expected)} "
            f"(its answer: {answer!r}).")


def decoder():
    """decode(ids) -> text with the file's own tokenizer, once per check (None if unreadable)."""
    def make():
        from checker.models.llama_tokenizer import GGUFTokenizer

        try:
            return GGUFTokenizer.from_gguf(gguf_path()).decode
        except Exception:  # noqa: BLE001 - the message falls back to ids
            return None
    return once("decoder", make)
