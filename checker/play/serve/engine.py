"""One thread steps the learner's Scheduler; the web server's requests meet it through queues.

The scheduler is not thread-safe and the model call blocks, so only this thread touches it:
submissions and cancels are queued to it, and every new token is handed back to the asyncio
loop of the request that waits for it (loop.call_soon_threadsafe)."""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass, field

END = object()  # after a request's last token


@dataclass
class Job:
    """One request as the engine sees it. `choose(logits, ids)` picks its tokens."""
    prompt: list
    max_tokens: int
    choose: object = None
    sink: object = None  # called from the engine thread with a token, END, or an Exception
    id: str = field(default_factory=lambda: f"req-{next(_ids)}")
    tokens: list = field(default_factory=list)


_ids = itertools.count(1)


def serving_class(scheduler_class):
    """The learner's Scheduler with `choose` asking each request's own chooser (sampling)."""
    import numpy as np

    class Serving(scheduler_class):
        _serve_jobs: dict = {}  # a name no learner scheduler uses for its own

        def choose(self, request_id, logits):
            job = self._serve_jobs.get(request_id)
            if job is None or job.choose is None:
                return super().choose(request_id, logits)
            return job.choose(logits, np.array([job.prompt + job.tokens], dtype=np.int64))

    return Serving


class Engine:
    def __init__(self, make_scheduler, eos_token_id: int | None, describe=str):
        """make_scheduler() -> a new scheduler (of serving_class); describe(exc) -> words."""
        self.make_scheduler, self.eos, self.describe = make_scheduler, eos_token_id, describe
        self.inbox: queue.Queue = queue.Queue()
        self.jobs: dict[str, Job] = {}
        self.steps = 0
        self.freeing = False
        self.thread = threading.Thread(target=self._run, name="kata-serve-engine", daemon=True)

    def start(self) -> "Engine":
        self.thread.start()
        return self

    def submit(self, job: Job) -> None:
        self.inbox.put(("submit", job))

    def cancel(self, job_id: str) -> None:
        self.inbox.put(("cancel", job_id))

    def _take(self, scheduler, block: bool) -> None:
        while True:
            try:
                kind, value = self.inbox.get(block=block)
            except queue.Empty:
                return
            block = False
            if kind == "submit":
                self.jobs[value.id] = value
                scheduler.submit(value.id, value.prompt, value.max_tokens)
            elif value in self.jobs:
                scheduler.cancel(value)
                self.jobs.pop(value)
                self.freeing = True  # one more step frees its slot, even with nothing else to do

    def _run(self) -> None:
        scheduler = self._new()
        while True:
            self._take(scheduler, block=not self.jobs and not self.freeing)
            if not self.jobs and not self.freeing:
                continue
            self.freeing = False
            try:
                new = scheduler.step()
                self.steps += 1
            except Exception as exc:  # noqa: BLE001 - the learner's bug fails its requests, not the server
                for job in self.jobs.values():
                    job.sink(RuntimeError(self.describe(exc)))
                self.jobs.clear()
                scheduler = self._new()
                continue
            for job_id, token in new.items():
                job = self.jobs.get(job_id)
                if job is None:  # cancelled meanwhile: the scheduler drops it next step
                    continue
                job.tokens.append(int(token))
                job.sink(int(token))
                if int(token) == self.eos or len(job.tokens) >= job.max_tokens:
                    job.sink(END)
                    self.jobs.pop(job_id)

    def _new(self):
        scheduler = self.make_scheduler()
        scheduler._serve_jobs = self.jobs
        return scheduler
