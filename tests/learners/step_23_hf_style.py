"""Kata 23 in Hugging Face's shape: candidate ids and n_matches from the cumulative sum of
mismatches, a crop that also takes a negative count (as DynamicCache.crop), an early-exit drafter
that re-feeds its whole context into a fresh cache, and a sampler on the given rng."""
import numpy as np
from max.experimental.tensor import Tensor

from katas.step_19 import CachedLlamaForCausalLM  # noqa: F401
from katas.step_19 import KVCache as _Cache


class KVCache(_Cache):
    def crop(self, max_length: int) -> None:
        if not self.keys:
            return
        if max_length < 0:
            max_length = self.get_seq_length(0) + max_length
        self.keys = [k[:, :, :max_length] for k in self.keys]
        self.values = [v[:, :, :max_length] for v in self.values]


def prompt_lookup(ids, num_tokens=10, max_ngram_size=2):
    input_ids = list(map(int, ids))
    input_length = len(input_ids)
    for ngram_size in range(min(max_ngram_size, input_length - 1), 0, -1):
        ngram = tuple(input_ids[-ngram_size:])
        for idx in range(input_length - ngram_size + 1):
            if tuple(input_ids[idx:idx + ngram_size]) != ngram:
                continue
            start_idx = idx + ngram_size
            end_idx = min(start_idx + num_tokens, input_length)
            if start_idx < end_idx:
                return input_ids[start_idx:end_idx]
    return []


def early_exit_logits(model, input_ids, cache, num_layers):
    layers = list(model.model.layers)
    hidden = model.model.embed_tokens(input_ids)
    for idx in range(min(num_layers, len(layers))):
        hidden = layers[idx](hidden, cache, idx)
    return model.lm_head(model.model.norm(hidden))


class EarlyExitDrafter:
    def __init__(self, model, num_layers, num_tokens=5):
        self.model, self.layers, self.n = model, num_layers, num_tokens

    def __call__(self, ids):
        cache, feed, draft = KVCache(), list(ids), []
        while len(draft) < self.n:
            logits = early_exit_logits(self.model, Tensor(np.array([feed], dtype=np.int64)), cache, self.layers)
            feed = [int(np.argmax(logits.to_numpy()[0, -1]))]
            draft += feed
        return draft


def speculative_generate(model, input_ids, max_new_tokens, drafter, eos_token_id=None):
    input_ids = [int(t) for t in np.asarray(input_ids).reshape(-1)]
    prompt_length = len(input_ids)
    cache = KVCache()
    n_matches_per_round = []
    while True:
        cur_len = len(input_ids)
        tokens_budget = max_new_tokens - (cur_len - prompt_length)
        if tokens_budget <= 0:
            break
        candidates = list(drafter(input_ids)) if tokens_budget > 1 else []
        candidate_input_ids = input_ids + candidates
        new_logits = model(Tensor(np.array([candidate_input_ids[cache.get_seq_length(0):]], dtype=np.int64)),
                           cache).to_numpy()[0, -(len(candidates) + 1):]
        selected = new_logits.argmax(axis=-1)
        n_matches = int((np.cumsum(np.array(candidates) != selected[:-1]) < 1).sum())
        valid_tokens = [int(t) for t in selected[:n_matches + 1]][:tokens_budget]
        if eos_token_id is not None and eos_token_id in valid_tokens:
            valid_tokens = valid_tokens[:valid_tokens.index(eos_token_id) + 1]
        n_matches = len(valid_tokens) - 1
        input_ids = input_ids + valid_tokens
        if len(candidates) > n_matches:  # crop(-0) would be crop(0): everything
            cache.crop(-(len(candidates) - n_matches))
        n_matches_per_round.append(n_matches)
        if valid_tokens[-1] == eos_token_id:
            break
    return input_ids[prompt_length:], n_matches_per_round


def acceptance_probabilities(draft_tokens, draft_probs, target_probs):
    idx = np.asarray(draft_tokens)
    rows = np.arange(idx.size)
    return np.clip(target_probs[rows, idx] / draft_probs[rows, idx], 0.0, 1.0)


def residual_distribution(target_probs, draft_probs):
    r = np.where(target_probs > draft_probs, target_probs - draft_probs, 0.0)
    return r / r.sum(-1, keepdims=True)


def speculative_sample(draft_tokens, draft_probs, target_probs, rng):
    accept = acceptance_probabilities(draft_tokens, draft_probs, target_probs)
    for j, token in enumerate(draft_tokens):
        if rng.uniform() > accept[j]:
            residual = residual_distribution(target_probs[j], draft_probs[j])
            return [int(t) for t in draft_tokens[:j]] + [int(rng.choice(len(residual), p=residual))]
    last = target_probs[len(draft_tokens)]
    return [int(t) for t in draft_tokens] + [int(rng.choice(len(last), p=last / last.sum()))]
