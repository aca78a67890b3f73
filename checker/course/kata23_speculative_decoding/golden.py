"""Kata 23's golden data, from Hugging Face's LlamaForCausalLM and its own `generate` (maintainers
only: `kata dev fixtures`).

An input-grounded prompt (a passage, then the request to repeat it) on the tiny Llama: plain
greedy `generate`; the same with `prompt_lookup_num_tokens` (its accepted count in every round,
read from the candidate generator's update_candidate_strategy, and identical tokens) and with
`assistant_early_exit` (identical tokens); HF's PromptLookupCandidateGenerator on several contexts;
the early-exit logits (the first layers, the final norm, the head); and a greedy run stopped by an
end-of-sequence token that comes in the middle of the continuation.
"""

from __future__ import annotations

import numpy as np

from checker.models.llama_golden import TINY, TOP_K, to_numpy, token_ids

FAMILY = "llama"

PROMPT = ("Repeat the passage: The old lighthouse keeper climbed the stairs every night to light "
          "the lamp. Passage repeated: The old lighthouse keeper")
NEW_TOKENS = 24
LOOKUP_TOKENS = 5  # prompt_lookup_num_tokens
LOOKUP_NGRAM = 2  # max_matching_ngram_size (Hugging Face's default)
EARLY_EXIT = 1  # assistant_early_exit: layers the drafter runs
EOS_STEP = 5  # the greedy token at this step (0-based) ends the eos run
MARGIN = 1e-2  # every greedy step's best logit beats the next by this much: no float32 ties
# (context length, num_tokens, max_ngram_size): contexts are the prompt and greedy tokens
LOOKUP_CASES = ((25, 5, 2), (33, 10, 2), (33, 3, 1), (36, 4, 3), (40, 10, 3), (12, 10, 2))


def _generate(model, ids, eos=None, **kwargs):
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=eos,
                              pad_token_id=TINY["pad_token_id"], output_logits=True,
                              return_dict_in_generate=True, **kwargs)
    with torch.no_grad():
        gen = model.generate(ids, generation_config=config)
    return gen.sequences[0, ids.shape[1]:].tolist(), torch.stack([s[0] for s in gen.logits])


def _lookup_rounds(model, ids) -> tuple[list, list]:
    """Hugging Face's prompt-lookup generate: its tokens and each round's accepted count."""
    from transformers.generation import candidate_generator

    cls = candidate_generator.PromptLookupCandidateGenerator
    original, counts = cls.update_candidate_strategy, []

    def record(self, input_ids, scores, num_matches):
        counts.append(int(num_matches))
        return original(self, input_ids, scores, num_matches)

    cls.update_candidate_strategy = record
    try:
        tokens, _ = _generate(model, ids, prompt_lookup_num_tokens=LOOKUP_TOKENS,
                              max_matching_ngram_size=LOOKUP_NGRAM)
    finally:
        cls.update_candidate_strategy = original
    return tokens, counts


def _lookup_cases(sequence: list) -> dict:
    import torch
    from transformers.generation.candidate_generator import PromptLookupCandidateGenerator

    lengths, drafts = [], []
    for length, num, ngram in LOOKUP_CASES:
        generator = PromptLookupCandidateGenerator(num_output_tokens=num, max_matching_ngram_size=ngram,
                                                   max_length=10_000)
        context = torch.tensor([sequence[:length]])
        out, _ = generator.get_candidates(context)
        draft = out[0, length:].tolist()
        lengths.append(len(draft))
        drafts += draft
    assert any(lengths) and not all(lengths), "some cases must find a match and some not"
    return {"lookup_case_lengths": np.array([c[0] for c in LOOKUP_CASES], dtype=np.int64),
            "lookup_case_num_tokens": np.array([c[1] for c in LOOKUP_CASES], dtype=np.int64),
            "lookup_case_ngram": np.array([c[2] for c in LOOKUP_CASES], dtype=np.int64),
            "lookup_case_draft_lengths": np.array(lengths, dtype=np.int64),
            "lookup_case_drafts": np.array(drafts, dtype=np.int64)}


def _early_exit_logits(model, ids):
    import torch

    layers = model.model.layers
    model.model.layers = layers[:EARLY_EXIT]  # the first layers, then the final norm and head
    try:
        with torch.no_grad():
            return model(ids).logits[0]
    finally:
        model.model.layers = layers


def speculative(model, tok) -> dict:
    import torch

    ids = token_ids(tok, PROMPT)
    greedy, steps = _generate(model, ids)
    top2 = torch.topk(steps, 2, dim=-1).values
    assert (top2[:, 0] - top2[:, 1]).min().item() > MARGIN, "a greedy step nearly ties"
    lookup, accepted = _lookup_rounds(model, ids)
    assert lookup == greedy, "Hugging Face's prompt lookup changed the greedy tokens"
    assert sum(a + 1 for a in accepted) == NEW_TOKENS and max(accepted) >= 2
    early, _ = _generate(model, ids, assistant_early_exit=EARLY_EXIT)
    assert early == greedy, "Hugging Face's early exit changed the greedy tokens"
    eos = greedy[EOS_STEP]
    assert eos not in greedy[:EOS_STEP], "the eos token must first come at EOS_STEP"
    stopped, _ = _generate(model, ids, eos=eos)
    assert stopped == greedy[:EOS_STEP + 1]
    exit_logits = _early_exit_logits(model, ids)
    top = torch.topk(exit_logits, TOP_K, dim=-1)
    sequence = ids[0].tolist() + greedy
    return {
        "prompt_ids": ids[0].numpy().astype(np.int64),
        "greedy_ids": np.array(greedy, dtype=np.int64),
        "lookup_num_tokens": np.array(LOOKUP_TOKENS), "lookup_ngram": np.array(LOOKUP_NGRAM),
        "lookup_accepted": np.array(accepted, dtype=np.int64),
        "early_exit_layers": np.array(EARLY_EXIT),
        "early_top_ids": top.indices.numpy().astype(np.int64),
        "early_top_logits": to_numpy(top.values),
        "early_last_logits": to_numpy(exit_logits[-1]),
        "eos_token_id": np.array(eos, dtype=np.int64),
        **_lookup_cases(sequence),
        "text": np.array(tok.decode(greedy)),
    }


def golden_speculative_decoding(model, tok) -> dict:
    return {"npz": speculative(model, tok)}


FIXTURES = {"golden/step_23.npz": golden_speculative_decoding}
