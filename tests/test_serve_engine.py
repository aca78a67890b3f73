"""kata serve's engine and text stream without MAX or HTTP: a learner's scheduler that raises
fails only the requests in flight (the server goes on with a new scheduler), a cancel frees the
slot even when nothing else runs, and stop strings cut the text."""

from __future__ import annotations

import queue
import time

from checker.play.serve.api import Stream
from checker.play.serve.engine import END, Engine, Job, serving_class


class Counting:
    """A stand-in scheduler: every running request gets token 5, then 6, ...; `boom` raises."""

    boom = False

    def __init__(self):
        self.running, self.cancelled, self.steps = {}, set(), 0

    def submit(self, request_id, prompt, max_tokens):
        self.running[request_id] = max_tokens

    def cancel(self, request_id):
        self.cancelled.add(request_id)

    def has_work(self):
        return bool(self.running)

    def choose(self, request_id, logits):
        return int(logits.argmax())

    def step(self):
        if Counting.boom:
            raise ValueError("your bug")
        for rid in self.cancelled:
            self.running.pop(rid, None)
        self.cancelled.clear()
        self.steps += 1
        time.sleep(0.005)  # a model call takes time: a cancel comes while the request runs
        out = {rid: 4 + self.steps for rid in self.running}
        self.running = {rid: left - 1 for rid, left in self.running.items() if left > 1}
        return out


def _engine():
    made = []

    def make():
        made.append(serving_class(Counting)())
        return made[-1]

    return Engine(make, eos_token_id=None, describe=lambda exc: f"described: {exc}").start(), made


def _job(prompt, tokens):
    got: queue.Queue = queue.Queue()
    return Job(prompt, tokens, sink=got.put), got


def _drain(got, until=END):
    out = []
    while True:
        item = got.get(timeout=10)
        out.append(item)
        if item is until or isinstance(item, Exception):
            return out


def test_tokens_then_end_at_max_tokens():
    engine, _ = _engine()
    job, got = _job([1, 2], 3)
    engine.submit(job)
    assert _drain(got) == [5, 6, 7, END]


def test_a_raising_scheduler_fails_its_requests_and_the_engine_goes_on():
    engine, made = _engine()
    Counting.boom = True
    try:
        job, got = _job([1], 3)
        engine.submit(job)
        failed = _drain(got)[-1]
        assert isinstance(failed, RuntimeError) and "described: your bug" in str(failed)
    finally:
        Counting.boom = False
    job, got = _job([1], 2)
    engine.submit(job)
    assert _drain(got)[-1] is END and len(made) == 2  # a new scheduler took over


def test_a_cancel_frees_the_slot_even_when_nothing_else_runs():
    engine, made = _engine()
    job, got = _job([1], 1000)
    engine.submit(job)
    got.get(timeout=10)
    engine.cancel(job.id)
    for _ in range(100):
        if not made[0].running:
            break
        import time
        time.sleep(0.05)
    assert not made[0].running


class Chars:
    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


def test_stream_cuts_at_a_stop_string_and_at_eos():
    stream = Stream(Chars(), ["lo"], eos=0)
    assert [stream.add(ord(c)) for c in "hel"] == ["h", "e", ""]  # "l" may start "lo": held
    assert stream.add(ord("l")) == "l" and stream.add(ord("o")) == "" and stream.finish == "stop"
    assert stream.shown == "hel"
    going = Stream(Chars(), ["lo"], eos=0)
    assert [going.add(ord(c)) for c in "al"] == ["a", ""] and going.flush() == "l"  # the end
    ended = Stream(Chars(), [], eos=0)
    ended.add(ord("a"))
    assert ended.add(0) == "" and ended.finish == "stop" and ended.count == 2
