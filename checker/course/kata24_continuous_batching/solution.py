"""Kata 24: continuous batching. A scheduler that admits requests while others decode."""
from collections import deque

import numpy as np
from max.experimental.tensor import Tensor

from katas.step_19 import KVCache
from katas.step_22 import BatchedLlamaForCausalLM  # noqa: F401 - the model the scheduler drives


class Request:
    """One request: its prompt, its budget, the tokens it has so far and its slot's position."""

    def __init__(self, request_id, prompt: list[int], max_tokens: int):
        self.request_id, self.prompt, self.max_tokens = request_id, list(prompt), max_tokens
        self.tokens: list[int] = []
        self.position = 0  # the position of the next token fed to the model


class Scheduler:
    """Continuous batching over a fixed number of slots (rows of one KVCache).

    Design: every step makes ONE model call for every slot. A newcomer's row holds its whole
    prompt, a running row its last token, left-padded to the step's widest row; a free slot holds
    padding. A slot handed to a newcomer has its old columns hidden (mask 0), so the cache itself
    is never edited: kata 22's attention mask does all the work."""

    def __init__(self, model, max_batch_size: int, pad_token_id: int, eos_token_id: int | None = None):
        self.model, self.pad_token_id, self.eos_token_id = model, pad_token_id, eos_token_id
        self.slots: list[Request | None] = [None] * max_batch_size
        self.waiting: deque[Request] = deque()
        self.cancelled: set = set()
        self._reset()

    def _reset(self):
        self.cache = KVCache()
        self.mask = np.zeros((len(self.slots), 0), dtype=np.int64)  # every cached column, per slot

    def submit(self, request_id, prompt: list[int], max_tokens: int) -> None:
        self.waiting.append(Request(request_id, prompt, max_tokens))

    def cancel(self, request_id) -> None:
        self.cancelled.add(request_id)

    def has_work(self) -> bool:
        return bool(self.waiting) or any(s is not None for s in self.slots)

    def choose(self, request_id, logits: np.ndarray) -> int:
        """The next token from one row's last logits: greedy here; `kata serve` samples."""
        return int(np.argmax(logits))

    def step(self) -> dict:
        """One model call for every running request; returns {request_id: its new token}."""
        # Cancelled requests leave first, so their slots go to the waiting ones at this step.
        self.waiting = deque(r for r in self.waiting if r.request_id not in self.cancelled)
        for slot, request in enumerate(self.slots):
            if request is not None and request.request_id in self.cancelled:
                self.slots[slot] = None
        self.cancelled.clear()
        if all(s is None for s in self.slots):
            self._reset()  # nothing cached is needed any more
        # First come, first served, into every free slot.
        newcomers = set()
        for slot in range(len(self.slots)):
            if self.slots[slot] is None and self.waiting:
                self.slots[slot] = self.waiting.popleft()
                self.mask[slot] = 0  # the old occupant's columns are hidden from the newcomer
                newcomers.add(slot)
        if all(s is None for s in self.slots):
            return {}

        # Each row's new tokens: a newcomer's prompt, a running request's last token.
        rows = [[] if r is None else (r.prompt if slot in newcomers else r.tokens[-1:])
                for slot, r in enumerate(self.slots)]
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), self.pad_token_id, dtype=np.int64)
        new_mask = np.zeros((len(rows), width), dtype=np.int64)
        positions = np.zeros((len(rows), width), dtype=np.int64)
        for slot, row in enumerate(rows):
            if row:
                start = self.slots[slot].position
                ids[slot, width - len(row):] = row
                new_mask[slot, width - len(row):] = 1
                positions[slot, width - len(row):] = np.arange(start, start + len(row))
                self.slots[slot].position = start + len(row)
        self.mask = np.concatenate([self.mask, new_mask], axis=1)
        logits = self.model(Tensor(ids), self.cache, attention_mask=Tensor(self.mask),
                            position_ids=Tensor(positions))
        last = logits.to_numpy()[:, -1]  # every row's last column is its last real token

        new_tokens = {}
        for slot, request in enumerate(self.slots):
            if request is None:
                continue
            token = int(self.choose(request.request_id, last[slot]))
            request.tokens.append(token)
            new_tokens[request.request_id] = token
            if token == self.eos_token_id or len(request.tokens) >= request.max_tokens:
                self.slots[slot] = None  # retired: the slot is free for the next step
        return new_tokens
