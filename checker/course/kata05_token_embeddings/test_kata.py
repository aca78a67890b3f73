"""Kata 5: GPT2Embeddings looks up GPT-2's token vectors for real BPE token ids."""

import numpy as np

from checker.child.testkit import build, expect, expect_close, fixture, ids_tensor, run
from checker.models.gpt2_kit import gpt2_module, tiny_config


def _embeddings(learner):
    config = tiny_config()
    return gpt2_module("GPT2Embeddings(config)", lambda: learner.GPT2Embeddings(config),
                       "transformer.", keep=("wte.",))


def test_hello_world(learner):
    """"Hello world" is GPT-2 tokens [15496, 995]."""
    g = fixture("golden/step_05.npz")
    module = _embeddings(learner)
    if module is None:
        return
    ids = g["prompt_ids"][None, :]
    out = run("GPT2Embeddings([[15496, 995]])", lambda: module(ids_tensor(ids)))
    wte = fixture("weights.npz")["transformer.wte.weight"]
    expect_close("GPT2Embeddings([[15496, 995]])", out, wte[ids], mistakes=_mistakes(ids))


def _mistakes(ids) -> dict:
    """What common lookup mistakes give for these ids."""
    wte = fixture("weights.npz")["transformer.wte.weight"]
    wpe = fixture("weights.npz")["transformer.wpe.weight"]
    return {
        "the ids are looked up off by one (token t + 1). Look up row t of wte for token t.":
            wte[ids + 1],
        "position embeddings are added too. This kata returns token embeddings only; kata 10 "
        "adds the two.": wte[ids] + wpe[:ids.shape[1]],
        "every token gets token 0's vector. Look up each id: self.wte(input_ids).":
            np.broadcast_to(wte[0], wte[ids].shape),
    }


def test_batch_of_sentences(learner):
    g = fixture("golden/step_05.npz")
    module = _embeddings(learner)
    if module is None:
        return
    out = run("GPT2Embeddings(ids) for a batch of 2 sentences", lambda: module(ids_tensor(g["ids"])))
    expect_close("GPT2Embeddings(ids) for a batch of 2 sentences", out, g["out"],
                 mistakes=_mistakes(g["ids"]))


def test_weight_shape(learner):
    config = tiny_config()
    module = build("GPT2Embeddings(config)", lambda: learner.GPT2Embeddings(config))
    if module is None:
        return
    shapes = {name: tuple(int(d) for d in p.shape) for name, p in module.parameters}
    expect(shapes.get("wte.weight") == (config.vocab_size, config.n_embd),
           f"GPT2Embeddings should hold wte.weight of shape ({config.vocab_size}, {config.n_embd}) "
           f"(one row per token); found {shapes or 'no parameters'}.")
