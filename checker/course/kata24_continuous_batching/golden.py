"""Kata 24's golden data: each prompt decoded ALONE by Hugging Face's LlamaForCausalLM `generate`
(greedy, with its cache), the tiny Llama (maintainers only: `kata dev fixtures`).

Continuous batching must change no token: whichever step a request joins, whoever shares its
batch, its tokens are the ones it gets alone. The hidden tests script the arrivals (kit.py); this
file holds what each request must give. An end-of-sequence token is chosen so that one request
stops early, freeing its slot for a waiting one.
"""

from __future__ import annotations

import numpy as np

from checker.models.llama_golden import TINY, token_ids

FAMILY = "llama"

PROMPTS = ("The old lighthouse keeper climbed the stairs",
           "Paris is",
           "Once upon a time, in a small village by the sea,",
           "The recipe needs flour",
           "In the year 2050, robots")
NEW_TOKENS = 6
EOS_REQUEST, EOS_STEP = 1, 2  # request 1's token at this step (0-based) is the end-of-sequence token
MARGIN = 1e-2  # every greedy step's best logit beats the next by this much: no float32 ties


def _generate(model, prompt: list[int], eos):
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=eos,
                              pad_token_id=TINY["pad_token_id"], use_cache=True,
                              output_logits=True, return_dict_in_generate=True)
    with torch.no_grad():
        gen = model.generate(torch.tensor([prompt]), generation_config=config)
    return gen.sequences[0, len(prompt):].tolist(), torch.stack(gen.logits, dim=1)[0]


def alone(model, tok) -> dict:
    import torch

    prompts = [token_ids(tok, text)[0].tolist() for text in PROMPTS]
    free, _ = _generate(model, prompts[EOS_REQUEST], None)
    eos = int(free[EOS_STEP])
    assert eos not in free[:EOS_STEP], "the eos token must first come at EOS_STEP"
    rows, lengths = [], []
    for index, prompt in enumerate(prompts):
        tokens, logits = _generate(model, prompt, eos)
        if eos in tokens:
            tokens = tokens[:tokens.index(eos) + 1]
        assert (index == EOS_REQUEST) == (len(tokens) < NEW_TOKENS), "only one request stops early"
        top2 = torch.topk(logits[:len(tokens)], 2, dim=-1).values
        assert (top2[:, 0] - top2[:, 1]).min().item() > MARGIN, f"request {index}: a near tie"
        rows.append(tokens + [TINY["pad_token_id"]] * (NEW_TOKENS - len(tokens)))
        lengths.append(len(tokens))
    return {
        "prompt_lengths": np.array([len(p) for p in prompts], dtype=np.int64),
        "prompt_ids": np.concatenate([np.array(p, dtype=np.int64) for p in prompts]),
        "new_ids": np.array(rows, dtype=np.int64),  # (requests, NEW_TOKENS), pad after eos
        "new_lengths": np.array(lengths, dtype=np.int64),
        "pad_token_id": np.array(TINY["pad_token_id"]), "eos_token_id": np.array(eos),
        "texts": np.array([tok.decode(r[:n]) for r, n in zip(rows, lengths)]),
    }


def golden_continuous_batching(model, tok) -> dict:
    return {"npz": alone(model, tok)}


FIXTURES = {"golden/step_24.npz": golden_continuous_batching}
