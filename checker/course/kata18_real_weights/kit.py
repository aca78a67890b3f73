"""Kata 18's child-side helpers, shared by its hidden tests and its fresh-input spec: the GGUF
file's path, and the learner's configuration, state dict and model, each made once per check
(reading the file with the learner's code takes seconds: never twice), each said on the check's
live line while it runs; then the words of the hidden tests' two longest messages (tensors that
differ, an answer token that differs)."""

import functools
import importlib
import os

import numpy as np
import pytest

from checker.models.llama_hf import position_weights  # numpy only: torch is imported lazily there
from checker.child.testkit import FAILED, attempt, build, expect, load_named, once, step, tensor
from checker.protocol import Env


def gguf_path() -> str:
    path = os.environ.get(Env.GGUF)
    if not path:
        pytest.fail("The SmolLM2 file was not given to this check (run it with `kata check 18`).",
                    pytrace=False)
    return path


def learner_config(learner):
    """The learner's config_from_gguf(path), once per check (FAILED after saying why)."""
    def read():
        with step("reading the file's configuration with your config_from_gguf"):
            return attempt("config_from_gguf(path)", lambda: learner.config_from_gguf(gguf_path()))
    return once("config", read)


def learner_state(learner):
    """The learner's load_gguf(path), once per check; None after saying what was wrong."""
    def load():
        with step("reading SmolLM2's file with your load_gguf"):
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
        config = learner_config(learner)
        state = learner_state(learner)
        if config is FAILED or state is None:
            return None
        with step("building your kata 17 LlamaForCausalLM with the weights your load_gguf read"):
            model_class = importlib.import_module("katas.step_17").LlamaForCausalLM
            model = build("LlamaForCausalLM(config_from_gguf(path)) from your kata 17",
                          lambda: model_class(config))
            if model is None:
                return None
            tensors = {name: tensor(np.ascontiguousarray(array)) for name, array in state.items()
                       if isinstance(array, np.ndarray)}
            loaded = load_named(model, tensors, "LlamaForCausalLM", "SmolLM2",
                                frozenset({"lm_head.weight"}))
        return model if loaded else None
    return once("model", make)


CHUNK = 1_000_000  # numbers summed at a time: a multiple of position_weights' period, 1000


def sums(array: np.ndarray) -> tuple[float, float, float]:
    """The sum, the sum of squares and the position-weighted sum of `array`'s numbers in float64,
    the three sums of llama_hf.fingerprint, a chunk at a time: the same numbers (summed in
    another order) without a float64 copy of each tensor (226 MB for the embedding), in a
    fraction of the time. position_weights(n)[i] depends on i % 1000 only, so every chunk, each
    starting at a multiple of 1000, has the first chunk's weights."""
    flat = np.asarray(array).reshape(-1)
    weights = _chunk_weights()
    total = squares = weighted = 0.0
    for start in range(0, flat.size, CHUNK):
        part = flat[start:start + CHUNK].astype(np.float64)
        total += float(part.sum())
        squares += float(part @ part)
        weighted += float(part @ weights[:part.size])
    return total, squares, weighted


@functools.cache
def _chunk_weights() -> np.ndarray:
    return position_weights(CHUNK)


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
