"""Kata 6: GPT2PositionEmbeddings gives GPT-2's position vectors for positions 0..T-1."""

import numpy as np

from checker.child.testkit import expect, expect_close, fixture, ids_tensor, run
from checker.models.gpt2_kit import gpt2_module, tiny_config


def _positions(learner):
    config = tiny_config()
    return gpt2_module("GPT2PositionEmbeddings(config)",
                       lambda: learner.GPT2PositionEmbeddings(config), "transformer.", keep=("wpe.",))


def _squeeze(out):
    """(T, n_embd) is the expected shape; (1, T, n_embd) broadcasts the same way and is fine."""
    if out is not None and out.ndim == 3 and out.shape[0] == 1:
        return out[0]
    return out


def _mistakes(wpe, length) -> dict:
    return {
        "positions start at 1. The first token is at position 0: use arange(seq_len).":
            wpe[1:length + 1],
        "positions are counted backwards. Position i of the sequence uses row i of wpe.":
            wpe[:length][::-1],
        "every position gets row 0 of wpe. Look up positions 0, 1, ..., seq_len - 1.":
            np.broadcast_to(wpe[0], (length, wpe.shape[1])),
    }


def test_sentence_positions(learner):
    g = fixture("golden/step_06.npz")
    module = _positions(learner)
    if module is None:
        return
    out = _squeeze(run("GPT2PositionEmbeddings(ids)", lambda: module(ids_tensor(g["ids"]))))
    wpe = fixture("weights.npz")["transformer.wpe.weight"]
    expect_close("GPT2PositionEmbeddings(ids)", out, g["out"], mistakes=_mistakes(wpe, len(g["out"])))


def test_depends_on_length_not_tokens(learner):
    """Other tokens of the same length get the same position vectors; a shorter input fewer."""
    g = fixture("golden/step_06.npz")
    module = _positions(learner)
    if module is None:
        return
    other = np.full_like(g["ids"], 50256)
    wpe = fixture("weights.npz")["transformer.wpe.weight"]
    out = _squeeze(run("GPT2PositionEmbeddings(other ids)", lambda: module(ids_tensor(other))))
    expect_close("GPT2PositionEmbeddings(other ids of the same length)", out, g["out"],
                 mistakes=_mistakes(wpe, len(g["out"])))
    short = _squeeze(run("GPT2PositionEmbeddings(3 ids)", lambda: module(ids_tensor(g["ids"][:, :3]))))
    expect_close("GPT2PositionEmbeddings(3 ids)", short, g["out"][:3], mistakes=_mistakes(wpe, 3))


def test_adds_to_token_embeddings(learner):
    """wte(ids) + your position embeddings is exactly GPT-2's input to block 0."""
    g = fixture("golden/step_06.npz")
    module = _positions(learner)
    if module is None:
        return
    out = _squeeze(run("GPT2PositionEmbeddings(ids)", lambda: module(ids_tensor(g["ids"]))))
    if out is None:
        return
    wte = fixture("weights.npz")["transformer.wte.weight"]
    if expect(out.shape == g["out"].shape, f"position embeddings of shape {out.shape} cannot be "
              f"added to token embeddings of shape {g['embeddings'].shape}."):
        wpe = fixture("weights.npz")["transformer.wpe.weight"]
        mistakes = {advice: wte[g["ids"]] + wrong for advice, wrong in _mistakes(wpe, len(out)).items()}
        expect_close("wte(ids) + position embeddings", wte[g["ids"]] + out, g["embeddings"],
                     mistakes=mistakes)
