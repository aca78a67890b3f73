"""Speculative decoding with the learner's own code, for `kata chat --speculative` and the
benchmark: their speculative_generate and drafter (the kata curriculum.yaml marks `provides:
speculative`), their model and cache compiled into one graph that gives every new position's
logits (checker.play.decode.Verifier).

Their speculative_generate makes its own cache and calls model(ids, cache). Here `model` is a
VerifiedModel: it runs their compiled model on the ids, after forgetting what their cache says
it no longer holds (so their crop decides what the compiled cache keeps), and appends a
placeholder of the new positions to their cache (layer 0 only: their get_seq_length(0) and crop
keep the count, as with their own model)."""

from __future__ import annotations

import numpy as np

MODES = ("prompt-lookup", "early-exit")
LOOKUP_TOKENS = 10  # Hugging Face's prompt_lookup_num_tokens default
LOOKUP_NGRAM = 2  # Hugging Face's max_matching_ngram_size default
EARLY_LAYERS = 8  # of SmolLM2's 30: a draft token costs about a quarter of a forward
EARLY_TOKENS = 3


class VerifiedModel:
    def __init__(self, verifier):
        self.verifier, self.calls = verifier, 0

    def __call__(self, input_ids, cache=None):
        from max.experimental.tensor import Tensor

        ids = np.asarray(input_ids.to_numpy() if hasattr(input_ids, "to_numpy") else input_ids)
        ids = ids.reshape(-1).astype(np.int64).tolist()
        held = int(cache.get_seq_length(0)) if cache is not None else 0
        if held > len(self.verifier.seen):
            raise ValueError(f"your cache says it holds {held} positions; only "
                             f"{len(self.verifier.seen)} went through the model")
        self.verifier.crop(held)
        logits = self.verifier.every_logits(ids)
        self.calls += 1
        if cache is not None:
            placeholder = Tensor(np.zeros((1, 1, len(ids), 1), dtype=np.float32))
            cache.update(placeholder, placeholder, 0)
        return Tensor(np.ascontiguousarray(logits[None].astype(np.float32, copy=False)))

    forward = __call__


class Drafts:
    """The learner's drafter, counted: how many tokens it proposed, and the ids each round
    started from (on_ids: e.g. stream the tokens kept so far)."""

    def __init__(self, drafter, on_ids=None):
        self.drafter, self.on_ids, self.drafted = drafter, on_ids, 0

    def __call__(self, ids):
        if self.on_ids is not None:
            self.on_ids(list(ids))
        out = [int(t) for t in self.drafter(list(ids))]
        self.drafted += len(out)
        return out


def drafter(module, mode: str, verifier):
    """The learner's drafter for `mode`: their prompt_lookup, or their EarlyExitDrafter on their
    model (run op by op: slow on SmolLM2)."""
    if mode == "prompt-lookup":
        return lambda ids: module.prompt_lookup(ids, num_tokens=LOOKUP_TOKENS, max_ngram_size=LOOKUP_NGRAM)
    if mode == "early-exit":
        return module.EarlyExitDrafter(verifier.model, EARLY_LAYERS, num_tokens=EARLY_TOKENS)
    raise ValueError(f"--speculative {mode}: expected one of {', '.join(MODES)}")


def generate(module, verifier, prompt: list[int], max_new: int, eos: int | None, draft,
             on_ids=None) -> dict:
    """Their speculative_generate on the prompt: {"tokens", "accepted", "drafted", "calls"}."""
    model = VerifiedModel(verifier)
    counted = Drafts(draft, on_ids)
    tokens, accepted = module.speculative_generate(model, np.array(prompt, dtype=np.int64), max_new,
                                                   counted, eos_token_id=eos)
    return {"tokens": [int(t) for t in tokens], "accepted": [int(a) for a in accepted],
            "drafted": counted.drafted, "calls": model.calls}


def acceptance_note(run: dict) -> str:
    kept, drafted = sum(run["accepted"]), run["drafted"]
    rate = f"{kept / drafted:.0%}" if drafted else "none drafted"
    return (f"speculative: {kept} of {drafted} drafted tokens accepted ({rate}); "
            f"{run['calls']} forwards for {len(run['tokens'])} tokens")
