"""Kata 23: speculative decoding.

A drafter guesses several tokens cheaply; one forward of the full model with your kata 19 cache
scores them all; the longest agreeing prefix is kept with the model's own next token (the bonus
token), and the cache is cropped back to what was kept. Greedy output stays identical, token for
token. Two drafters: prompt lookup and early exit. Then speculative sampling. Read
katas/step_23.md, then run `kata check 23`.
"""

import numpy as np  # noqa: F401 - you will need it
from max.experimental.tensor import Tensor  # noqa: F401 - you will need it

from katas.step_19 import CachedLlamaForCausalLM  # noqa: F401 - the model speculative_generate runs
from katas.step_19 import KVCache as Kata19Cache


class KVCache(Kata19Cache):
    """Kata 19's cache that can forget the positions a rejected draft left in it."""

    def crop(self, max_length: int) -> None:
        """Keeps only the first max_length positions of every layer (Hugging Face's
        DynamicCache.crop); get_seq_length then says max_length."""
        # TODO: slice every layer's keys and values on the positions axis (2).
        pass


def prompt_lookup(ids: list[int], num_tokens: int = 10, max_ngram_size: int = 2) -> list[int]:
    """Hugging Face's prompt lookup (prompt_lookup_num_tokens, max_matching_ngram_size): for n
    from max_ngram_size down to 1, find the FIRST earlier place where the context's last n tokens
    occur, followed by at least one token; return up to num_tokens of the tokens that followed
    it. [] when no n-gram matches."""
    # TODO
    return []


def early_exit_logits(model, input_ids: Tensor, cache, num_layers: int) -> Tensor:
    """The model's first num_layers layers (with the cache, as kata 19's forward), then its final
    norm and head (Hugging Face's assistant_early_exit). (1, seq) ids -> (1, seq, vocab)."""
    # TODO
    return None


class EarlyExitDrafter:
    """drafter(ids) -> num_tokens greedy tokens from early_exit_logits, with a cache of its own."""

    def __init__(self, model, num_layers: int, num_tokens: int = 5):
        self.model, self.num_layers, self.num_tokens = model, num_layers, num_tokens
        # TODO (optional, for speed): a KVCache of the drafter's own, and the ids it holds.

    def __call__(self, ids: list[int]) -> list[int]:
        # TODO: num_tokens greedy steps of early_exit_logits after ids.
        return []


def speculative_generate(model, input_ids, max_new_tokens: int, drafter,
                         eos_token_id: int | None = None) -> tuple[list[int], list[int]]:
    """Greedy decoding, several tokens per forward. Each round (one model call per round; the
    first round's call holds the prompt):
      draft = drafter(every id so far, as a list of ints)   (no draft when 1 token is left)
      logits = model(the ids the cache has not seen + draft, cache)
      keep the longest prefix of draft that equals the model's own argmax choices, then the
      model's choice after it (the bonus token); at most max_new_tokens in all, stopping after
      eos_token_id; crop the cache to every id so far but the last.
    Returns (new token ids, accepted): accepted[i] = how many of round i's emitted tokens came
    from the draft (tokens emitted in round i, minus one)."""
    # TODO
    return [], []


def acceptance_probabilities(draft_tokens, draft_probs: np.ndarray,
                             target_probs: np.ndarray) -> np.ndarray:
    """For each drafted token x at position j: the probability of accepting it, from the
    target's p = target_probs[j, x] and the drafter's q = draft_probs[j, x]. (k,) float64."""
    # TODO
    return None


def residual_distribution(target_probs: np.ndarray, draft_probs: np.ndarray) -> np.ndarray:
    """What a rejected position draws from: a probability distribution over the vocabulary, made
    of max(0, p - q). Rows in, rows out (the last axis is the vocabulary)."""
    # TODO
    return None


def speculative_sample(draft_tokens, draft_probs: np.ndarray, target_probs: np.ndarray,
                       rng: np.random.Generator) -> list[int]:
    """Speculative sampling (Leviathan et al. 2023). draft_tokens (k,) were drawn from draft_probs
    (k, vocab); target_probs (k + 1, vocab) are the model's. Accept drafted tokens in order, each
    with its acceptance probability; the first rejected one is replaced by a draw from its
    residual distribution and ends the list; after k accepted, one more token drawn from
    target_probs[k]. Returns the emitted tokens (1 to k + 1). Use rng (or any generator)."""
    # TODO
    return []
