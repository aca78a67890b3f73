"""Kata 22's golden data, from Hugging Face's LlamaForCausalLM and its own `generate` on a
left-padded batch (maintainers only: `kata dev fixtures`).

Three prompts of different lengths, left-padded into one batch with an attention mask, go through
`generate` (greedy, with its cache, `output_logits=True`), with an end-of-sequence token chosen so
that one row stops early while the others go on. Recorded: the padded batch, Hugging Face's
logits of the whole padded prompt (position ids = cumsum of the mask - 1, as generate makes them),
every step's logits of every row, the generated tokens, and each prompt run alone (no padding):
its logits at the same positions, its generate's logits and tokens, which must be the batch's.
"""

from __future__ import annotations

import numpy as np

from checker.models.llama_golden import TINY, TOP_K, to_numpy, token_ids

FAMILY = "llama"  # the model family whose model and tokenizer the builder is given

# The middle prompt is the longest (a mask taken from row 0 would still pad something); the short
# last one stops at its own end-of-sequence token while the others go on.
PROMPTS = ("The old lighthouse keeper climbed the stairs",
           "Once upon a time, in a small village by the sea,",
           "Paris is")
NEW_TOKENS = 8
EOS_STEP = 2  # the short row's token at this step (0-based) is the batch's end-of-sequence token
MARGIN = 1e-2  # every greedy step's best logit beats the next by this much: no float32 ties
ALONE_ATOL = 1e-4  # Hugging Face's own batch against its own rows alone (float32 rounding only)


def _generate(model, ids, mask, eos):
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=eos,
                              pad_token_id=TINY["pad_token_id"], use_cache=True,
                              output_logits=True, return_dict_in_generate=True)
    with torch.no_grad():
        gen = model.generate(ids, attention_mask=mask, generation_config=config)
    return gen.sequences[:, ids.shape[1]:], torch.stack(gen.logits, dim=1)  # (b, n), (b, n, vocab)


def _until_eos(tokens, eos) -> list[int]:
    out = []
    for token in tokens:
        out.append(int(token))
        if token == eos:
            break
    return out


def batched(model, tok) -> dict:
    import torch

    from checker.models.llama import left_pad, position_ids_from

    prompts = [token_ids(tok, text)[0].tolist() for text in PROMPTS]
    assert len({len(p) for p in prompts}) == len(prompts), "the prompts must differ in length"
    # The short row's own greedy tokens (no end-of-sequence token yet) choose the eos token.
    short = len(prompts) - 1
    free, _ = _generate(model, torch.tensor([prompts[short]]), None, None)
    eos = int(free[0, EOS_STEP])
    assert eos not in free[0, :EOS_STEP].tolist(), "the eos token must first come at EOS_STEP"

    ids_np, mask_np = left_pad(prompts, TINY["pad_token_id"])
    ids, mask = torch.tensor(ids_np), torch.tensor(mask_np)
    positions = position_ids_from(mask_np)
    with torch.no_grad():
        prefill = model(ids, attention_mask=mask, position_ids=torch.tensor(positions)).logits
    new, steps = _generate(model, ids, mask, eos)

    rows = [_until_eos(new[row].tolist(), eos) for row in range(len(prompts))]
    assert len(rows[short]) == EOS_STEP + 1 and rows[short][-1] == eos
    assert all(len(r) == NEW_TOKENS and eos not in r for i, r in enumerate(rows) if i != short), \
        "only the short row may stop early: choose other prompts"
    # Each row alone: its prompt without padding, its logits and its generate.
    alone_prefill, alone_steps = [], []
    with torch.no_grad():
        for row, prompt in enumerate(prompts):
            alone = torch.tensor([prompt])
            alone_prefill.append(model(alone).logits[0])
            tokens, logits = _generate(model, alone, None, eos)
            assert _until_eos(tokens[0].tolist(), eos) == rows[row], f"row {row} alone differs"
            alone_steps.append(logits[0])
    # The padded batch's logits at each row's real positions equal the row's alone.
    longest = ids.shape[1]
    for row, prompt in enumerate(prompts):
        padded = prefill[row, longest - len(prompt):]
        assert torch.allclose(padded, alone_prefill[row], atol=ALONE_ATOL), f"row {row}'s prefill"
        done = len(rows[row])
        assert torch.allclose(steps[row, :done], alone_steps[row][:done], atol=ALONE_ATOL)
    # Greedy steps far from ties, in every row while it runs.
    for row in range(len(prompts)):
        top2 = torch.topk(steps[row, :len(rows[row])], 2, dim=-1).values
        margin = (top2[:, 0] - top2[:, 1]).min().item()
        assert margin > MARGIN, f"row {row}: a greedy step nearly ties ({margin:.2g})"
        assert len(set(rows[row])) >= len(rows[row]) // 2, "the continuation should be varied"

    top_prefill = torch.topk(prefill, TOP_K, dim=-1)  # (b, P, K) at every position, pads too
    top_steps = torch.topk(steps, TOP_K, dim=-1)  # (b, n, K)
    alone_at = []  # each row alone, at the batch's top ids of its real positions
    for row, prompt in enumerate(prompts):
        at = top_prefill.indices[row, longest - len(prompt):]
        alone_at.append(np.pad(to_numpy(torch.gather(alone_prefill[row], 1, at)),
                               ((longest - len(prompt), 0), (0, 0))))
    alone_steps_at = np.zeros(tuple(top_steps.values.shape), dtype=np.float32)
    for row in range(len(prompts)):
        done = len(rows[row])
        alone_steps_at[row, :done] = to_numpy(
            torch.gather(alone_steps[row][:done], 1, top_steps.indices[row, :done]))
    return {
        "prompt_lengths": np.array([len(p) for p in prompts], dtype=np.int64),
        "prompt_ids": np.concatenate([np.array(p, dtype=np.int64) for p in prompts]),
        "input_ids": ids_np, "attention_mask": mask_np, "position_ids": positions,
        "pad_token_id": np.array(TINY["pad_token_id"]), "eos_token_id": np.array(eos),
        # the prefill: Hugging Face's logits of the padded prompt at every position
        "prefill_top_ids": top_prefill.indices.numpy().astype(np.int64),
        "prefill_top_logits": to_numpy(top_prefill.values),
        "prefill_last_logits": to_numpy(prefill[:, -1]),  # every row's last position, in full
        "alone_prefill_top_logits": np.stack(alone_at),  # 0 at padded positions (never compared)
        # generate: every step's logits of every row (a finished row's too: not compared)
        "new_ids": new.numpy().astype(np.int64),  # (b, n): pad_token_id after a row's eos
        "new_lengths": np.array([len(r) for r in rows], dtype=np.int64),
        "step_top_ids": top_steps.indices.numpy().astype(np.int64),
        "step_top_logits": to_numpy(top_steps.values),
        "alone_step_top_logits": alone_steps_at,  # 0 once the row has finished (never compared)
        "texts": np.array([tok.decode(r) for r in rows]),
    }


def golden_batched_generation(model, tok) -> dict:
    return {"npz": batched(model, tok)}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_22.npz": golden_batched_generation}
