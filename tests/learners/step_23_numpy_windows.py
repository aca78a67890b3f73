"""Kata 23, written another way: numpy windows for prompt lookup, a drafter without a cache of
its own (the whole context every time), verification by cumulative products of matches, and a
sampler on the global np.random with inverse-CDF draws."""
import numpy as np
from max.experimental import functional as F
from max.experimental.tensor import Tensor

from katas.step_19 import CachedLlamaForCausalLM  # noqa: F401
from katas.step_19 import KVCache as Base


class KVCache(Base):
    def crop(self, max_length):
        keep = int(max_length)
        for store in (self.keys, self.values):
            for i, t in enumerate(store):
                total = int(t.shape[2])
                if keep < total:
                    store[i] = F.split(t, [keep, total - keep], axis=2)[0] if keep > 0 else t[:, :, :0]


def prompt_lookup(ids, num_tokens=10, max_ngram_size=2):
    arr = np.asarray(list(ids), dtype=np.int64)
    n = len(arr)
    for size in range(min(max_ngram_size, n - 1), 0, -1):
        windows = np.lib.stride_tricks.sliding_window_view(arr, size)
        hits = np.flatnonzero((windows == arr[-size:]).all(axis=1))
        hits = hits[hits + size < n]
        if hits.size:
            begin = int(hits[0]) + size
            return arr[begin:begin + num_tokens].tolist()
    return []


def early_exit_logits(model, input_ids, cache, num_layers):
    x = model.model.embed_tokens(input_ids)
    for i in range(num_layers):
        x = model.model.layers[i](x, cache, i)
    return model.lm_head(model.model.norm(x))


class EarlyExitDrafter:
    def __init__(self, model, num_layers, num_tokens=5):
        self.model, self.num_layers, self.num_tokens = model, num_layers, num_tokens

    def __call__(self, ids):
        context, out = list(ids), []
        for _ in range(self.num_tokens):
            logits = early_exit_logits(self.model, Tensor(np.array([context], dtype=np.int64)), None,
                                       self.num_layers)
            token = int(logits.to_numpy()[0, -1].argmax())
            out.append(token)
            context.append(token)
        return out


def speculative_generate(model, input_ids, max_new_tokens, drafter, eos_token_id=None):
    text = list(np.asarray(input_ids).ravel().astype(int))
    start = len(text)
    cache = KVCache()
    accepted = []
    while len(text) - start < max_new_tokens and not (len(text) > start and text[-1] == eos_token_id):
        budget = max_new_tokens - (len(text) - start)
        draft = list(drafter(text)) if budget > 1 else []
        seen = cache.get_seq_length()
        fresh = text[seen:]
        scores = model(Tensor(np.array([fresh + draft], dtype=np.int64)), cache).to_numpy()[0]
        picks = scores[len(fresh) - 1:].argmax(axis=-1)
        matches = int(np.cumprod(np.array(draft, dtype=np.int64) == picks[:len(draft)]).sum()) if draft else 0
        new = [int(t) for t in picks[:matches + 1]][:budget]
        if eos_token_id in new:
            new = new[:new.index(eos_token_id) + 1]
        text += new
        accepted.append(len(new) - 1)
        cache.crop(len(text) - 1)
    return text[start:], accepted


def acceptance_probabilities(draft_tokens, draft_probs, target_probs):
    out = []
    for j, x in enumerate(draft_tokens):
        p, q = float(target_probs[j][x]), float(draft_probs[j][x])
        out.append(1.0 if p >= q else p / q)
    return np.array(out)


def residual_distribution(target_probs, draft_probs):
    diff = np.clip(np.asarray(target_probs) - np.asarray(draft_probs), 0, None)
    return diff / np.sum(diff, axis=-1, keepdims=True)


def _draw(probs):
    cdf = np.cumsum(probs)
    return int(min(np.searchsorted(cdf, np.random.random() * cdf[-1], side="right"), len(probs) - 1))


def speculative_sample(draft_tokens, draft_probs, target_probs, rng):
    out = []
    for j, x in enumerate(draft_tokens):
        if np.random.random() * draft_probs[j][x] < target_probs[j][x]:
            out.append(int(x))
        else:
            out.append(_draw(residual_distribution(target_probs[j], draft_probs[j])))
            return out
    out.append(_draw(target_probs[len(draft_tokens)]))
    return out
