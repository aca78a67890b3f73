"""Kata 23: speculative decoding. Draft cheaply, verify every draft in one forward, crop the cache."""
import numpy as np
from max.experimental.tensor import Tensor

from katas.step_19 import CachedLlamaForCausalLM  # noqa: F401 - the model speculative_generate runs
from katas.step_19 import KVCache as Kata19Cache


class KVCache(Kata19Cache):
    """Kata 19's cache that can forget the positions a rejected draft left in it."""

    def crop(self, max_length: int) -> None:
        """Keeps only the first max_length positions of every layer (Hugging Face's
        DynamicCache.crop): what the model saw of the tokens that were kept."""
        for layer in range(len(self.keys)):
            self.keys[layer] = self.keys[layer][:, :, :max_length]
            self.values[layer] = self.values[layer][:, :, :max_length]


def prompt_lookup(ids: list[int], num_tokens: int = 10, max_ngram_size: int = 2) -> list[int]:
    """Hugging Face's prompt lookup: the tokens that followed the first earlier occurrence of the
    context's last n-gram (n from max_ngram_size down to 1), at most num_tokens, or [] when none."""
    ids = [int(t) for t in ids]
    length = len(ids)
    for size in range(min(max_ngram_size, length - 1), 0, -1):
        ngram = ids[-size:]
        for start in range(length - size + 1):
            if ids[start:start + size] == ngram and start + size < length:
                return ids[start + size:min(start + size + num_tokens, length)]
    return []


def early_exit_logits(model, input_ids: Tensor, cache, num_layers: int) -> Tensor:
    """The model's first num_layers layers, then its final norm and head: a cheap guess at its
    logits (Hugging Face's assistant_early_exit)."""
    hidden_states = model.model.embed_tokens(input_ids)
    for layer_idx, layer in enumerate(list(model.model.layers)[:num_layers]):
        hidden_states = layer(hidden_states, cache, layer_idx)
    return model.lm_head(model.model.norm(hidden_states))


class EarlyExitDrafter:
    """Drafts num_tokens greedy tokens with the model's first num_layers layers and its own cache,
    which keeps what the previous call saw of the context and forgets the rest."""

    def __init__(self, model, num_layers: int, num_tokens: int = 5):
        self.model, self.num_layers, self.num_tokens = model, num_layers, num_tokens
        self.cache, self.seen = KVCache(), []  # seen: the ids whose keys the cache holds

    def __call__(self, ids: list[int]) -> list[int]:
        ids = [int(t) for t in ids]
        common = 0
        while common < min(len(self.seen), len(ids) - 1) and self.seen[common] == ids[common]:
            common += 1
        self.cache.crop(common)
        self.seen = ids[:common]
        feed, draft = ids[common:], []
        for _ in range(self.num_tokens):
            logits = early_exit_logits(self.model, Tensor(np.array([feed], dtype=np.int64)),
                                       self.cache, self.num_layers)
            self.seen += feed
            feed = [int(np.argmax(logits.to_numpy()[0, -1]))]
            draft += feed
        return draft


def speculative_generate(model, input_ids, max_new_tokens: int, drafter,
                         eos_token_id: int | None = None) -> tuple[list[int], list[int]]:
    """Greedy decoding, several tokens per forward: each round drafter(ids so far) proposes
    tokens, one call of the model with the cache scores them all, the agreeing prefix is kept
    with the model's own next token, and the cache is cropped back. Returns (new tokens, the
    number of drafted tokens accepted in each round)."""
    ids = [int(t) for t in np.asarray(input_ids).reshape(-1)]
    cache = KVCache()
    new_tokens: list[int] = []
    accepted: list[int] = []
    while len(new_tokens) < max_new_tokens:
        left = max_new_tokens - len(new_tokens)
        draft = [int(t) for t in drafter(list(ids))] if left > 1 else []
        cached = cache.get_seq_length(0)
        feed = ids[cached:] + draft
        logits = model(Tensor(np.array([feed], dtype=np.int64)), cache).to_numpy()[0]
        # The model's own choice after the last known token and after each drafted one.
        choices = [int(c) for c in np.argmax(logits[len(feed) - len(draft) - 1:], axis=-1)]
        agree = 0
        while agree < len(draft) and draft[agree] == choices[agree]:
            agree += 1
        emitted = (draft[:agree] + [choices[agree]])[:left]  # the bonus token: the model's own
        if eos_token_id is not None and eos_token_id in emitted:
            emitted = emitted[:emitted.index(eos_token_id) + 1]
        accepted.append(len(emitted) - 1)
        new_tokens += emitted
        ids += emitted
        cache.crop(len(ids) - 1)  # the last token has not been through the model yet
        if emitted[-1] == eos_token_id:
            break
    return new_tokens, accepted


def acceptance_probabilities(draft_tokens, draft_probs: np.ndarray,
                             target_probs: np.ndarray) -> np.ndarray:
    """min(1, p(x) / q(x)) for each drafted token x: p the target's, q the drafter's
    probabilities at its position. (k,) float64."""
    rows = np.arange(len(draft_tokens))
    tokens = np.asarray(draft_tokens, dtype=np.int64)
    p = np.asarray(target_probs, dtype=np.float64)[rows, tokens]
    q = np.asarray(draft_probs, dtype=np.float64)[rows, tokens]
    return np.minimum(1.0, p / q)


def residual_distribution(target_probs: np.ndarray, draft_probs: np.ndarray) -> np.ndarray:
    """max(0, p - q), normalised to sum to 1: what a rejected position draws from."""
    residual = np.maximum(np.asarray(target_probs, np.float64) - np.asarray(draft_probs, np.float64), 0.0)
    return residual / residual.sum(axis=-1, keepdims=True)


def speculative_sample(draft_tokens, draft_probs: np.ndarray, target_probs: np.ndarray,
                       rng: np.random.Generator) -> list[int]:
    """Leviathan et al.'s speculative sampling: draft_tokens (k,) drawn from draft_probs (k,
    vocab); target_probs (k + 1, vocab). Accepts each drafted token with probability min(1, p/q)
    until one is rejected, which is replaced by a draw from the residual; after k accepted, one
    more token from target_probs[k]. Returns the emitted tokens (1 to k + 1)."""
    accept = acceptance_probabilities(draft_tokens, draft_probs, target_probs)
    vocab = np.asarray(target_probs).shape[-1]
    emitted = []
    for position, token in enumerate(draft_tokens):
        if rng.random() < accept[position]:
            emitted.append(int(token))
            continue
        residual = residual_distribution(target_probs[position], draft_probs[position])
        emitted.append(int(rng.choice(vocab, p=residual)))
        return emitted
    emitted.append(int(rng.choice(vocab, p=np.asarray(target_probs[len(draft_tokens)], np.float64))))
    return emitted
