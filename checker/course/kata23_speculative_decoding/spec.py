"""Kata 23's fresh inputs: a random prompt that repeats a random passage (so prompt lookup finds
matches), the learner's speculative_generate with their own prompt_lookup as the drafter, and
prompt_lookup on random contexts. The parent judges the tokens against the numpy Llama's greedy
choices (each within LOGITS_ATOL of the best logit, as kata 22's judge), the accepted counts
against what the drafts and tokens imply, and prompt_lookup against the numpy reference."""

import numpy as np

from checker.models import llama, llama_data

from . import kit

LOGITS_ATOL = 1e-3  # as the hidden tests
MAX_NEW = 10
NUM_TOKENS = 4
CASES = 4  # prompt_lookup contexts


def draw(rng, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    passage = llama_data.draw_ids(rng, fx, 1, int(rng.integers(5, 9)))[0]
    glue = llama_data.draw_ids(rng, fx, 1, 2)[0]
    prompt = np.concatenate([passage, glue, passage[:int(rng.integers(2, 4))]])
    small = rng.integers(0, 6, size=(CASES, 14))  # a small alphabet: n-grams repeat
    return {"prompt": prompt.astype(np.int64), "contexts": small.astype(np.int64),
            "ngrams": rng.integers(1, 4, size=CASES).astype(np.int64)}


def run(learner, inputs):
    from checker.child.testkit import expect

    prompt = inputs["prompt"].tolist()
    what = f"speculative_generate(model, a random prompt of {len(prompt)} tokens, {MAX_NEW}, prompt lookup)"
    done = kit.run_speculative(
        learner, lambda _model: lambda ids: learner.prompt_lookup(ids, num_tokens=NUM_TOKENS, max_ngram_size=2),
        prompt, MAX_NEW, None, what)
    if done is None:
        return None
    if done.tokens is None:
        expect(False, done.problem)
        return None
    drafts = [r.draft for r in done.rounds]
    lookups = [[int(t) for t in learner.prompt_lookup(c.tolist(), num_tokens=3, max_ngram_size=int(n))]
               for c, n in zip(inputs["contexts"], inputs["ngrams"])]
    return {"tokens": np.array(done.tokens, dtype=np.int64), "accepted": np.array(done.accepted, np.int64),
            "draft_lengths": np.array([len(d) for d in drafts], np.int64),
            "drafts": np.array([t for d in drafts for t in d], np.int64),
            "lookup_lengths": np.array([len(x) for x in lookups], np.int64),
            "lookups": np.array([t for x in lookups for t in x], np.int64)}


def judge(inputs, outputs, fixtures_dir):
    fx = llama_data.Fixtures(fixtures_dir)
    keys = ("tokens", "accepted", "draft_lengths", "drafts", "lookup_lengths", "lookups")
    if any(outputs.get(k) is None for k in keys):
        return "no tokens came back"
    lookups = kit.split(outputs["lookups"], outputs["lookup_lengths"])
    for context, ngram, got in zip(inputs["contexts"], inputs["ngrams"], lookups):
        want = kit.prompt_lookup(context, 3, int(ngram))
        if got != want:
            return (f"prompt_lookup({context.tolist()}, num_tokens=3, max_ngram_size={int(ngram)}) "
                    f"gave {got}; Hugging Face's prompt lookup gives {want}")
    prompt, tokens = inputs["prompt"], outputs["tokens"]
    what = f"speculative_generate(model, a random prompt of {len(prompt)} tokens, {MAX_NEW}, prompt lookup)"
    if len(tokens) != MAX_NEW:
        return f"{what} returned {len(tokens)} tokens; expected {MAX_NEW}"
    if ((tokens < 0) | (tokens >= fx.values["vocab_size"])).any():
        return f"{what} returned token ids outside the vocabulary"
    logits = llama.logits(np.concatenate([prompt, tokens])[None], fx.weights, fx.config)[0]
    for step, token in enumerate(tokens):
        best = logits[len(prompt) - 1 + step]
        if best[token] < best.max() - LOGITS_ATOL:
            return (f"{what}: token {step + 1} is {int(token)}, but plain greedy decoding chooses "
                    f"{int(np.argmax(best))} there (logit {best.max():.4f}; yours {best[token]:.4f})")
    drafts = kit.split(outputs["drafts"], outputs["draft_lengths"])
    rounds = [kit.Round(None, d, None, []) for d in drafts]
    implied = kit.accepted_implied(prompt.tolist(), tokens.tolist(), MAX_NEW, None, rounds)
    if outputs["accepted"].tolist() != implied or sum(a + 1 for a in implied) != MAX_NEW:
        return (f"{what} returned accepted counts {outputs['accepted'].tolist()}; its drafts and "
                f"tokens imply {implied}")
    return None
