"""Kata 24, written another way: the waiting queue a plain list (pop(0)); the step's new columns
made by kata 22's own left_pad (a free slot an empty prompt); each slot's next position read
from its row of the mask (how many real tokens it holds) rather than kept on the request; retired
requests collected first and freed after the loop; the cache dropped whenever the batch empties."""
import numpy as np
from max.experimental.tensor import Tensor

from katas.step_19 import KVCache
from katas.step_22 import BatchedLlamaForCausalLM, left_pad  # noqa: F401


class Request:
    def __init__(self, request_id, prompt, max_tokens):
        self.request_id, self.prompt, self.max_tokens = request_id, list(prompt), max_tokens
        self.tokens = []


class Scheduler:
    def __init__(self, model, max_batch_size, pad_token_id, eos_token_id=None):
        self.model, self.pad, self.eos = model, pad_token_id, eos_token_id
        self.slots = [None] * max_batch_size
        self.queue = []
        self.to_cancel = []
        self.cache, self.mask = None, None

    def submit(self, request_id, prompt, max_tokens):
        self.queue.append(Request(request_id, prompt, max_tokens))

    def cancel(self, request_id):
        self.to_cancel.append(request_id)

    def has_work(self):
        return len(self.queue) > 0 or any(self.slots)

    def choose(self, request_id, logits):
        return int(np.argmax(logits))

    def step(self):
        gone = set(self.to_cancel)
        self.to_cancel = []
        self.queue = [r for r in self.queue if r.request_id not in gone]
        self.slots = [None if (r is not None and r.request_id in gone) else r for r in self.slots]
        if not any(self.slots):
            self.cache, self.mask = KVCache(), np.zeros((len(self.slots), 0), dtype=np.int64)
        fresh = []
        for i in range(len(self.slots)):
            if self.slots[i] is None and len(self.queue) > 0:
                self.slots[i] = self.queue.pop(0)
                self.mask[i, :] = 0
                fresh.append(i)
        if not any(self.slots):
            return {}
        rows = []
        for i, r in enumerate(self.slots):
            rows.append([] if r is None else (r.prompt if i in fresh else [r.tokens[-1]]))
        ids, new_mask = left_pad(rows, self.pad)
        before = self.mask.sum(axis=1, keepdims=True)  # real tokens each slot holds already
        positions = np.maximum(before + np.cumsum(new_mask, axis=1) - 1, 0).astype(np.int64)
        self.mask = np.concatenate([self.mask, new_mask.astype(np.int64)], axis=1)
        out = self.model(Tensor(ids.astype(np.int64)), self.cache,
                         attention_mask=Tensor(self.mask), position_ids=Tensor(positions))
        logits = out.to_numpy()
        result, done = {}, []
        for i, r in enumerate(self.slots):
            if r is None:
                continue
            token = self.choose(r.request_id, logits[i, -1])
            r.tokens.append(token)
            result[r.request_id] = token
            if token == self.eos or len(r.tokens) == r.max_tokens:
                done.append(i)
        for i in done:
            self.slots[i] = None
        return result
