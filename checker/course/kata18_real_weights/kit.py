"""Kata 18's child-side helpers, shared by its hidden tests and its fresh-input spec: the GGUF
file's path, and the learner's state dict and model, each made once per check."""

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
