"""Kata 24, written another way: no fixed slots. The cache holds one row per RUNNING request,
in admission order: a retired request's row is cut out of every layer's keys and values (and of
the mask) at once, a newcomer's row appended as zeros (hidden by the mask) before the call. The
batch is as wide as the work, never wider than max_batch_size."""
from collections import deque

import numpy as np
from max.experimental.tensor import Tensor

from katas.step_19 import KVCache
from katas.step_22 import BatchedLlamaForCausalLM  # noqa: F401


class Scheduler:
    def __init__(self, model, max_batch_size, pad_token_id, eos_token_id=None):
        self.model, self.size, self.pad, self.eos = model, max_batch_size, pad_token_id, eos_token_id
        self.waiting = deque()  # (id, prompt, max_tokens)
        self.running = []  # dicts, one per cache row
        self.cancelled = set()
        self.cache, self.mask = KVCache(), np.zeros((0, 0), dtype=np.int64)

    def submit(self, request_id, prompt, max_tokens):
        self.waiting.append((request_id, list(prompt), max_tokens))

    def cancel(self, request_id):
        self.cancelled.add(request_id)

    def has_work(self):
        return bool(self.waiting or self.running)

    def choose(self, request_id, logits):
        return int(np.argmax(logits))

    def _keep_rows(self, keep):
        """Cuts every row but `keep` out of the cache and the mask."""
        for layer in range(len(self.cache.keys)):
            k, v = self.cache.keys[layer].to_numpy(), self.cache.values[layer].to_numpy()
            self.cache.keys[layer], self.cache.values[layer] = Tensor(k[keep]), Tensor(v[keep])
        self.mask = self.mask[keep]

    def _add_rows(self, n):
        for layer in range(len(self.cache.keys)):
            for store in (self.cache.keys, self.cache.values):
                old = store[layer].to_numpy()
                store[layer] = Tensor(np.concatenate([old, np.zeros((n,) + old.shape[1:], old.dtype)]))
        self.mask = np.concatenate([self.mask, np.zeros((n, self.mask.shape[1]), np.int64)])

    def step(self):
        self.waiting = deque(w for w in self.waiting if w[0] not in self.cancelled)
        keep = [i for i, r in enumerate(self.running) if r["id"] not in self.cancelled]
        self.cancelled.clear()
        if len(keep) < len(self.running):
            self.running = [self.running[i] for i in keep]
            self._keep_rows(keep)
        if not self.running:
            self.cache, self.mask = KVCache(), np.zeros((0, 0), dtype=np.int64)
        joined = 0
        while self.waiting and len(self.running) < self.size:
            rid, prompt, most = self.waiting.popleft()
            self.running.append({"id": rid, "feed": prompt, "tokens": [], "most": most, "pos": 0})
            joined += 1
        if joined:
            self._add_rows(joined)
        if not self.running:
            return {}
        width = max(len(r["feed"]) for r in self.running)
        n = len(self.running)
        ids = np.full((n, width), self.pad, np.int64)
        new = np.zeros((n, width), np.int64)
        pos = np.zeros((n, width), np.int64)
        for row, r in enumerate(self.running):
            m = len(r["feed"])
            ids[row, width - m:], new[row, width - m:] = r["feed"], 1
            pos[row, width - m:] = r["pos"] + np.arange(m)
            r["pos"] += m
        self.mask = np.concatenate([self.mask, new], axis=1)
        logits = self.model(Tensor(ids), self.cache, attention_mask=Tensor(self.mask),
                            position_ids=Tensor(pos)).to_numpy()[:, -1]
        out, keep = {}, []
        for row, r in enumerate(self.running):
            token = self.choose(r["id"], logits[row])
            r["tokens"].append(token)
            r["feed"] = [token]
            out[r["id"]] = token
            if token != self.eos and len(r["tokens"]) < r["most"]:
                keep.append(row)
        if len(keep) < n:
            self.running = [self.running[i] for i in keep]
            self._keep_rows(keep)
        return out
