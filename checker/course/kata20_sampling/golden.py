"""Kata 20's golden data, from Hugging Face's own logits processors (maintainers only:
`kata dev fixtures`).

Real next-token logits (the seeded tiny GPT-2 on a real sentence, GPT-2's 50257-token
vocabulary), four rows: two as the model gives them in float32 (one with a tie put exactly on the
top-k boundary) and two rounded to bfloat16, as a bfloat16 model's logits are, which ties many
tokens. Every filter's expected output is what TemperatureLogitsWarper, TopKLogitsWarper,
TopPLogitsWarper, MinPLogitsWarper and RepetitionPenaltyLogitsProcessor return on them; every
distribution is the softmax of the scores `generate` itself would sample from (its own processor
list, built by GenerationMixin._get_logits_processor). Settings that make float32 decide a
boundary (a cumulative probability within 1e-4 of top_p, a tie straddling it, a probability
within 1e-3 of min_p's threshold) are not used: the checker compares values, and a correct
float32 filter must not fail on rounding.
"""

import numpy as np

from checker.models import sampling as ref

from .kit import MIN_P_MARGIN, SAMPLE_VOCAB, choose_top_p, settle
from checker.models.gpt2_golden import SENTENCE, to_numpy

FAMILY = "part3"  # the family whose model (the logits source) and tokenizer the builder is given

POSITIONS = (3, 6, 9, 12)  # rows of the sentence's logits used
SHARPEN = 2.0  # the tiny model's logits are flat (top probability ~0.1); x2 is a confident model
TOP_K_TIE_ROW = 1  # ranks 49-52 of this row set equal to rank 50: top_k=50 keeps 52 tokens
TOP_TIE_ROW = 2  # the two largest logits of this row equal: top_k=1 keeps both


TEMPERATURES = (0.7, 1.3)
PENALTIES = (1.3, 0.7)
TOP_K = ((1, 1), (50, 1), (2, 5))  # (top_k, min_tokens_to_keep)
TOP_P_TARGETS = ((0.3, 1), (0.8, 1), (0.0005, 3))  # (about top_p, min_tokens_to_keep)
MIN_P = ((0.05, 1), (0.2, 1), (0.9, 3))
# next_token_probs on the four rows (top_p is moved off float32's boundaries, see choose_top_p)
COMBINED = (
    {},
    {"temperature": 0.7, "top_k": 50, "top_p": 0.9, "repetition_penalty": 1.3},
    {"temperature": 1.5, "min_p": 0.1},
    {"temperature": 0.6, "top_p": 0.6},
    {"temperature": 1.2, "top_k": 20, "repetition_penalty": 0.8},
)
# sample_next_token, checked statistically on the 4096-token slice
SAMPLED = (
    {},
    {"temperature": 0.7, "top_k": 50, "top_p": 0.9, "repetition_penalty": 1.3},
    {"temperature": 1.5, "min_p": 0.1},
    {"top_p": 0.5},
)


def real_logits(model, tok) -> tuple[np.ndarray, np.ndarray]:
    """The four rows of logits (float32) and, per row, the ids a repetition penalty looks at."""
    import torch

    ids = tok.encode(SENTENCE)
    with torch.no_grad():
        logits = to_numpy(model(torch.tensor([ids])).logits[0])
    rows = logits[list(POSITIONS)] * np.float32(SHARPEN)
    # a tie on the top-k boundary, and one at the very top
    order = np.argsort(-rows[TOP_K_TIE_ROW], kind="stable")
    rows[TOP_K_TIE_ROW, order[48:52]] = rows[TOP_K_TIE_ROW, order[49]]
    order = np.argsort(-rows[TOP_TIE_ROW], kind="stable")
    rows[TOP_TIE_ROW, order[1]] = rows[TOP_TIE_ROW, order[0]]
    bf16 = torch.from_numpy(rows[2:]).to(torch.bfloat16).to(torch.float32).numpy()
    rows[2:] = bf16
    # the context of each row (the sentence so far), a few likely tokens (positive logits, which
    # the penalty divides) and repeats (penalised once), so every case of the rule is present
    seen = []
    for r, pos in enumerate(POSITIONS):
        top = np.argsort(-rows[r], kind="stable")[:4]
        context = list(ids[:pos + 1])[-8:]
        seen.append(context + [int(t) for t in top] + [int(top[0]), context[-1]])
    width = max(len(s) for s in seen)
    seen = [s + [s[0]] * (width - len(s)) for s in seen]
    return np.ascontiguousarray(rows, dtype=np.float32), np.array(seen, dtype=np.int64)


def hf_processors(settings: dict, prompt_length: int):
    """The processor list `generate(do_sample=True, **settings)` applies, from generate's own
    builder (its order: repetition penalty, temperature, top-k, top-p, min-p)."""
    from transformers import GenerationConfig, LogitsProcessorList
    from transformers.generation.utils import GenerationMixin

    config = GenerationConfig(do_sample=True, **{"top_k": None, **settings})
    config._eos_token_tensor = None

    class Host(GenerationMixin):  # _get_logits_processor reads only self.config's encoder flag
        class config:  # noqa: N801
            is_encoder_decoder = False

    return GenerationMixin._get_logits_processor(
        Host(), generation_config=config, input_ids_seq_length=prompt_length,
        encoder_input_ids=None, prefix_allowed_tokens_fn=None,
        logits_processor=LogitsProcessorList(), device="cpu", model_kwargs={})


def hf_probs(logits: np.ndarray, ids: np.ndarray, settings: dict) -> np.ndarray:
    import torch

    processors = hf_processors(settings, ids.shape[1])
    scores = processors(torch.from_numpy(ids), torch.from_numpy(logits.copy()))
    return to_numpy(torch.softmax(scores, dim=-1))


def sample_slice(logits: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 4096-token vocabulary cut from row 0: its 2048 most likely tokens and 2048 others,
    shuffled; the repetition ids mapped into it."""
    rng = np.random.default_rng(20)
    row = logits[0]
    order = np.argsort(-row, kind="stable")
    keep = np.concatenate([order[:SAMPLE_VOCAB // 2],
                           rng.choice(order[SAMPLE_VOCAB // 2:], SAMPLE_VOCAB // 2, replace=False)])
    keep = keep[rng.permutation(SAMPLE_VOCAB)]
    where = {int(t): i for i, t in enumerate(keep)}
    mapped = [where[int(t)] for t in ids[0] if int(t) in where]
    mapped += [int(np.flatnonzero(keep == order[0])[0])] * 2  # the favourite, repeated
    return (np.ascontiguousarray(row[keep][None], dtype=np.float32),
            np.array([mapped], dtype=np.int64))


def golden_sampling(model, tok) -> dict:
    return {"npz": golden_arrays(*real_logits(model, tok)), "compressed": True}


def golden_arrays(logits: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Every case's settings and Hugging Face's answer, as named arrays: "top_k.1.top_k",
    "top_k.1.out", ... (kit.cases reads them back)."""
    import torch
    from transformers import (MinPLogitsWarper, RepetitionPenaltyLogitsProcessor,
                              TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)

    t_logits, t_ids = torch.from_numpy(logits), torch.from_numpy(ids)
    arrays = {"logits": logits, "input_ids": ids}

    def put(name, settings: dict, out):
        for key, value in settings.items():
            arrays[f"{name}.{key}"] = np.array(value)
        arrays[f"{name}.out"] = to_numpy(out) if hasattr(out, "detach") else out

    for i, t in enumerate(TEMPERATURES):
        put(f"temperature.{i}", {"temperature": t},
            TemperatureLogitsWarper(t)(t_ids, t_logits.clone()))
    for i, p in enumerate(PENALTIES):
        put(f"penalty.{i}", {"penalty": p},
            RepetitionPenaltyLogitsProcessor(p)(t_ids, t_logits.clone()))
    for i, (k, keep) in enumerate(TOP_K):
        put(f"top_k.{i}", {"top_k": k, "min_tokens_to_keep": keep},
            TopKLogitsWarper(k, min_tokens_to_keep=keep)(t_ids, t_logits.clone()))
    for i, (target, keep) in enumerate(TOP_P_TARGETS):
        if keep > 1:  # a tiny top_p: min_tokens_to_keep decides; ranks 3 and 4 must not tie
            ordered = -np.sort(-logits, axis=-1)
            assert (ordered[:, keep - 1] > ordered[:, keep]).all()
            p = target
        else:
            p = choose_top_p(logits, target)
        put(f"top_p.{i}", {"top_p": p, "min_tokens_to_keep": keep},
            TopPLogitsWarper(p, min_tokens_to_keep=keep)(t_ids, t_logits.clone()))
    for i, (m, keep) in enumerate(MIN_P):
        assert ref.min_p_margin(logits, m) > MIN_P_MARGIN
        if keep > 1:
            ordered = -np.sort(-logits, axis=-1)
            assert (ordered[:, keep - 1] > ordered[:, keep]).all()
        put(f"min_p.{i}", {"min_p": m, "min_tokens_to_keep": keep},
            MinPLogitsWarper(m, min_tokens_to_keep=keep)(t_ids, t_logits.clone()))
    for i, settings in enumerate(COMBINED):
        settings = settle(settings, logits, ids)
        put(f"combined.{i}", settings, hf_probs(logits, ids, settings))
    s_logits, s_ids = sample_slice(logits, ids)
    arrays["sample.logits"], arrays["sample.input_ids"] = s_logits, s_ids
    for i, settings in enumerate(SAMPLED):
        settings = settle(settings, s_logits, s_ids)
        put(f"sampled.{i}", settings, hf_probs(s_logits, s_ids, settings))
    return arrays


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_20.npz": golden_sampling}
