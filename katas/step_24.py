"""Kata 24: continuous batching.

A scheduler that serves requests arriving at any time: each step makes one model call for every
running request, admits waiting requests first come, first served whenever a slot is free, retires
a request at its end-of-sequence token or its max_tokens (its slot free at once), and returns every
request's new token as soon as it exists. Your kata 22 model and kata 19 cache do the computing.
Read katas/step_24.md, then run `kata check 24`.
"""

from collections import deque  # noqa: F401 - you will need it

import numpy as np  # noqa: F401 - you will need it
from max.experimental.tensor import Tensor  # noqa: F401 - you will need it

from katas.step_19 import KVCache  # noqa: F401 - you will need it
from katas.step_22 import BatchedLlamaForCausalLM  # noqa: F401 - the model the scheduler drives


class Request:
    """One request: its prompt, its budget, the tokens it has so far and its next position."""

    def __init__(self, request_id, prompt: list[int], max_tokens: int):
        self.request_id, self.prompt, self.max_tokens = request_id, list(prompt), max_tokens
        self.tokens: list[int] = []
        self.position = 0  # the position of the next token fed to the model


class Scheduler:
    """Continuous batching over max_batch_size slots (the rows of one KVCache).

    model: your kata 22 BatchedLlamaForCausalLM (or anything called the same way)."""

    def __init__(self, model, max_batch_size: int, pad_token_id: int, eos_token_id: int | None = None):
        self.model, self.pad_token_id, self.eos_token_id = model, pad_token_id, eos_token_id
        self.slots: list[Request | None] = [None] * max_batch_size
        self.waiting: deque[Request] = deque()
        self.cancelled: set = set()
        # TODO: a KVCache and an attention mask of shape (max_batch_size, 0), int64.

    def submit(self, request_id, prompt: list[int], max_tokens: int) -> None:
        """A new request waits for a slot (first come, first served)."""
        self.waiting.append(Request(request_id, prompt, max_tokens))

    def cancel(self, request_id) -> None:
        """The request leaves at the next step (waiting or running); its slot is free then."""
        self.cancelled.add(request_id)

    def has_work(self) -> bool:
        return bool(self.waiting) or any(s is not None for s in self.slots)

    def choose(self, request_id, logits: np.ndarray) -> int:
        """The next token from one row's last logits (vocab,): greedy here; `kata serve` samples."""
        return int(np.argmax(logits))

    def step(self) -> dict:
        """One model call for every running request; returns {request_id: its new token}.

        In order: cancelled requests leave; waiting requests fill the free slots, oldest first;
        ONE model call (a newcomer's whole prompt, a running request's last token); each running
        request takes self.choose(...) of its row; a request that chose eos_token_id or reached
        max_tokens leaves its slot at once. With nothing running, return {} and call nothing."""
        # TODO
        return {}
