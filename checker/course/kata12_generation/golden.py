"""Kata 12's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""

import numpy as np

from checker.models.gpt2_golden import to_numpy, PROMPT

FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


GREEDY_TOKENS = 16
TEMPERATURES = (0.5, 1.0, 1.5)


def golden_generation(model, tok) -> dict:
    """Kata 12: greedy continuation of the prompt with the logits of every step, and the
    next-token probabilities at several temperatures."""
    import torch

    ids = torch.tensor([tok.encode(PROMPT)])
    with torch.no_grad():
        gen = model.generate(ids, max_new_tokens=GREEDY_TOKENS, do_sample=False,
                             output_logits=True, return_dict_in_generate=True,
                             pad_token_id=model.config.eos_token_id)
        last = model(ids).logits[0, -1]
    tokens = gen.sequences[0]
    arrays = {
        "prompt_ids": ids.numpy().astype(np.int64),
        "greedy_ids": tokens.numpy().astype(np.int64)[None, :],
        "step_logits": np.stack([to_numpy(step[0]) for step in gen.logits]),
        "next_logits": to_numpy(last),
        "greedy_text": np.array(tok.decode(tokens.tolist())),
    }
    for t in TEMPERATURES:
        arrays[f"probs_t{t:g}"] = to_numpy(torch.softmax(last / t, dim=-1))
    return {"npz": arrays}


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_12.npz": golden_generation}
