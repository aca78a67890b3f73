"""Kata 24's helpers, shared by the hidden tests and the fresh-input spec: a scripted arrival
schedule (a Plan), what a right scheduler's step trace is for it (simulate, numpy-free), the
learner's Scheduler driven through it with a stand-in model that records every call (kata 22's
Recorder, so a call runs as one staged graph and, when staging fails, the whole run starts again
op by op), and the words that name what a wrong trace or a wrong token shows."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

# ---- a schedule and what a right scheduler does with it (numpy-free: the parent uses it) -------


@dataclass
class Plan:
    """Request i (id ids[i]) arrives before step arrive[i], with max_tokens[i]; request i is
    cancelled before step cancel[i] (absent: never)."""
    ids: list
    prompts: list
    arrive: list
    max_tokens: list
    cancel: dict = field(default_factory=dict)
    max_batch: int = 3
    pad: int = 2
    eos: int | None = None

    def last_event(self) -> int:
        return max(list(self.arrive) + list(self.cancel.values()))


def simulate(plan: Plan, lengths: list, policy: str = "right") -> list[list[int]]:
    """Each step's batch (request indices, in slot order) when request i gives lengths[i] tokens
    before it ends (its eos or max_tokens). policy: "right", or a named mistake: "static" (admit
    only into an empty batch), "lifo" (the newest waiting request first)."""
    waiting, slots, steps, given, gone = [], [None] * plan.max_batch, [], [0] * len(lengths), set()
    step = 0
    while step <= plan.last_event() or waiting or any(s is not None for s in slots):
        waiting += [i for i, t in enumerate(plan.arrive) if t == step]
        dropped = {i for i, t in plan.cancel.items() if t == step}
        gone |= dropped
        waiting = [i for i in waiting if i not in dropped]
        slots = [None if s in dropped else s for s in slots]
        if policy != "static" or all(s is None for s in slots):
            for slot in range(len(slots)):
                if slots[slot] is None and waiting:
                    slots[slot] = waiting.pop(-1 if policy == "lifo" else 0)
        batch = [s for s in slots if s is not None]
        steps.append(batch)
        for slot, i in enumerate(slots):
            if i is not None:
                given[i] += 1
                if given[i] >= lengths[i]:
                    slots[slot] = None
        step += 1
    return steps


def natural_lengths(plan: Plan, alone: list) -> list[int]:
    """How many tokens each request gives if never cancelled: up to its eos (included), at most
    max_tokens. alone[i]: request i's greedy tokens alone (at least max_tokens of them, or up to
    eos)."""
    out = []
    for tokens, most in zip(alone, plan.max_tokens):
        tokens = list(tokens)[:most]
        out.append(tokens.index(plan.eos) + 1 if plan.eos in tokens else len(tokens))
    return out


# ---- the learner's Scheduler, driven through a plan --------------------------------------------

@dataclass
class Driven:
    trace: list  # per step: {request index: token}
    calls: list  # per step: the model calls it made (kata 22's Seen)
    chosen: list  # per step: request ids self.choose was asked for
    problem: str | None = None


def scheduler_class(learner):
    return getattr(learner, "Scheduler", None)


def model(learner):
    """Your BatchedLlamaForCausalLM (kata 22's, as step_24.py imports it) with the tiny Llama's
    weights, once per check."""
    from checker.child.testkit import once
    from checker.models.llama_kit import llama_module, tiny_config

    config = tiny_config()
    factory = getattr(learner, "BatchedLlamaForCausalLM", None) \
        or importlib.import_module("katas.step_22").BatchedLlamaForCausalLM
    return once("model", lambda: llama_module("BatchedLlamaForCausalLM(config)",
                                              lambda: factory(config), ""))


def _watched(cls, chosen: list):
    class Watched(cls):
        def choose(self, request_id, logits):
            chosen.append(request_id)
            return super().choose(request_id, logits)
    return Watched


def drive(learner, plan: Plan, steps: int) -> Driven | None:
    """Your Scheduler(model, plan.max_batch, pad, eos) run for `steps` steps: before step t, the
    requests arriving at t are submitted (in order) and those cancelled at t cancelled."""
    from checker.child.staging import staged_then_plain
    from checker.course.kata19_kv_cache.kit import failure
    from checker.course.kata22_batched_generation.kit import Recorder

    the_model = model(learner)
    cls = scheduler_class(learner)
    if the_model is None or cls is None:
        return None if cls is not None else Driven([], [], [], "step_24.py has no class Scheduler.")
    index = {rid: i for i, rid in enumerate(plan.ids)}

    def attempt(plain: bool):
        recorder, chosen_now = Recorder(the_model, plain), []
        driven = Driven([], [], [])
        try:
            what = f"Scheduler(model, max_batch_size={plan.max_batch}, pad_token_id={plan.pad}, " \
                   f"eos_token_id={plan.eos})"
            try:
                scheduler = _watched(cls, chosen_now)(recorder, plan.max_batch, plan.pad, plan.eos)
            except Exception as exc:  # noqa: BLE001 - the learner's error is the message
                driven.problem = failure(what, exc)
                return driven
            for step in range(steps):
                for i, t in enumerate(plan.arrive):
                    if t == step:
                        what = f"submit({plan.ids[i]!r}, prompt, {plan.max_tokens[i]}) before step {step}"
                        scheduler.submit(plan.ids[i], list(plan.prompts[i]), plan.max_tokens[i])
                for i, t in plan.cancel.items():
                    if t == step:
                        what = f"cancel({plan.ids[i]!r}) before step {step}"
                        scheduler.cancel(plan.ids[i])
                before, chosen_now[:] = len(recorder.seen), []
                what = f"step() number {step}"
                got = scheduler.step()
                driven.calls.append(recorder.seen[before:])
                driven.chosen.append(list(chosen_now))
                if not isinstance(got, dict) or any(k not in index for k in got):
                    driven.problem = (f"{what} returned {got!r:.200}; expected a dict "
                                      "{request_id: new token} over the requests in this step's batch.")
                    return driven
                tokens = {}
                for rid, token in got.items():
                    try:
                        tokens[index[rid]] = int(token)
                    except (TypeError, ValueError):
                        driven.problem = f"{what} gave request {rid!r} the token {token!r}; expected an int."
                        return driven
                driven.trace.append(tokens)
            return driven
        except Exception as exc:  # noqa: BLE001 - the learner's error is the message
            driven.problem = failure(what, exc)
            return driven
    return staged_then_plain(attempt)


# ---- what a wrong trace shows ------------------------------------------------------------------

STATIC = ("static batching: a waiting request joined only when the whole batch had finished. "
          "Continuous batching admits it at the very next step whenever a slot is free, while "
          "the others go on decoding.")
NEVER_FREED = ("a slot never freed: a request that ended (its end-of-sequence token, its "
               "max_tokens, or a cancel) must leave its slot at once, so that the next step gives "
               "it to the oldest waiting request.")
NOT_FCFS = ("the order of admission is not first come, first served: when a slot frees, the "
            "request that has waited longest takes it (a deque: append on submit, popleft on "
            "admission).")
CORRUPTS = ("a newcomer's prefill corrupted another row's cache: a running request's tokens "
            "changed at the step another request joined. In a step where a newcomer's prompt "
            "widens the batch, a running row's extra columns are padding: mask 0 there, so its "
            "token attends only to its own real keys.")
STALE_SLOT = ("a reused slot still shows its previous request's keys: a newcomer's first token "
              "differs from the same prompt alone, in a slot someone else left. When a slot "
              "changes hands, set its row of the attention mask to 0 over every cached column.")


def names(plan: Plan, i: int) -> str:
    return repr(plan.ids[i])


def _batch(plan, indices) -> str:
    return "[" + ", ".join(names(plan, i) for i in sorted(indices)) + "]"


def trace_problem(plan: Plan, got: list, lengths: list) -> str | None:
    """got: per step, the request indices in your step's returned dict. None: the right trace."""
    want = simulate(plan, lengths)
    static, lifo = simulate(plan, lengths, "static"), simulate(plan, lengths, "lifo")
    ended_at = {}  # request -> the step of its last token (or of its cancel)
    for t, batch in enumerate(want):
        for i in batch:
            ended_at[i] = t
    for i, t in plan.cancel.items():
        ended_at[i] = min(ended_at.get(i, t), t - 1)
    for t in range(max(len(want), len(got))):
        mine = set(got[t]) if t < len(got) else set()
        theirs = set(want[t]) if t < len(want) else set()
        if mine == theirs:
            continue
        where = f"step {t}'s batch is {_batch(plan, mine)}; expected {_batch(plan, theirs)}"
        late = sorted(i for i in mine - theirs if ended_at.get(i, t) < t)
        if late:
            i = late[0]
            why = (f"it was cancelled before step {plan.cancel[i]}" if i in plan.cancel
                   and plan.cancel[i] <= t else f"its last token came at step {ended_at[i]}")
            return f"{where}: request {names(plan, i)} is still running, but {why}. " + NEVER_FREED
        mine_all = [set(b) for b in got]
        if mine_all[:t + 1] == [set(b) for b in static[:t + 1]]:
            return f"{where}. " + STATIC
        if mine_all[:t + 1] == [set(b) for b in lifo[:t + 1]] or any(
                plan.arrive[j] > plan.arrive[k] or (plan.arrive[j] == plan.arrive[k] and j > k)
                for j in mine - theirs for k in theirs - mine):
            return f"{where}. " + NOT_FCFS
        missing = theirs - mine
        if missing and len(mine) < plan.max_batch and any(ended_at.get(i, t) < t for i in ended_at):
            return (f"{where}: {_batch(plan, missing)} waited although a slot was free. "
                    + NEVER_FREED)
        return (f"{where}. Before each step: cancelled requests leave, then the waiting ones fill "
                "the free slots, oldest first; after it, a request that ended leaves.")
    return None


def calls_problem(plan: Plan, driven: Driven) -> str | None:
    """One model call per step with a running request, none in an idle step, never more rows
    than max_batch_size."""
    for t, (calls, batch) in enumerate(zip(driven.calls, driven.trace)):
        if batch and len(calls) != 1:
            return (f"step {t} called the model {len(calls)} times; one call per step runs every "
                    "request in the batch at once (newcomers' prompts and the others' last tokens "
                    "together).")
        if not batch and calls:
            return f"step {t} had no running request but called the model {len(calls)} times."
        for call in calls:
            if call.ids is None or call.ids.ndim != 2 or call.ids.shape[0] > plan.max_batch:
                shape = None if call.ids is None else call.ids.shape
                return (f"step {t} gave the model ids of shape {shape}: at most max_batch_size = "
                        f"{plan.max_batch} rows (a slot freed is a row reused). " + NEVER_FREED)
    seen: set = set()
    for t, (calls, batch) in enumerate(zip(driven.calls, driven.trace)):
        joined = set(batch) - seen
        seen |= set(batch)
        if len(calls) != 1 or not batch:
            continue
        call = calls[0]
        if not joined and call.ids.shape[1] != 1:
            return (f"step {t} (no newcomer) gave the model ids of shape {call.ids.shape}; each "
                    "running request gives only its last token, (rows, 1): the KV cache holds the "
                    "rest.")
        before = driven.calls[t - 1] if t else []
        if t and driven.trace[t - 1] and before and call.cache is not before[0].cache:
            return (f"step {t} gave the model " + ("no cache" if call.cache is None else "another "
                    "cache object than step " + str(t - 1)) + ", while requests were running: "
                    "keep one KVCache while any request runs (a new one only when every slot is free).")
    for t, (asked, batch) in enumerate(zip(driven.chosen, driven.trace)):
        if sorted(map(str, asked)) != sorted(str(plan.ids[i]) for i in batch):
            return (f"step {t} asked self.choose(request_id, logits) for {asked}; expected once "
                    f"for each request in its batch ({_batch(plan, batch)}): `kata serve` samples "
                    "through choose.")
    return None


def tokens_of(driven: Driven, count: int) -> list[list[int]]:
    rows = [[] for _ in range(count)]
    for batch in driven.trace:
        for i, token in batch.items():
            rows[i].append(token)
    return rows


def tokens_problem(plan: Plan, driven: Driven, alone: list, lengths: list) -> str | None:
    """Each request's tokens against the same prompt alone; a wrong one named by when it came.
    lengths: each request's natural length (kit.natural_lengths)."""
    rows = tokens_of(driven, len(plan.ids))
    counts = [0] * len(rows)
    for batch in simulate(plan, lengths):
        for i in batch:
            counts[i] += 1
    for i, (row, count) in enumerate(zip(rows, counts)):
        if len(row) < count and row == alone[i][:len(row)]:
            return (f"request {names(plan, i)} got {len(row)} tokens, {row}; expected {count}: "
                    f"{alone[i][:count]} (the step trace says which steps it missed).")
    admitted = {}
    for t, batch in enumerate(driven.trace):
        for i in batch:
            admitted.setdefault(i, t)
    first_wrong = {}
    for i, row in enumerate(rows):
        k = next((k for k, (a, b) in enumerate(zip(row, alone[i])) if a != b), None)
        if k is not None:
            steps = [t for t, b in enumerate(driven.trace) if i in b]
            first_wrong[i] = (k, steps[k])
    if not first_wrong:
        return None

    def said(i):
        k, t = first_wrong[i]
        return (f"request {names(plan, i)}'s token {k + 1} (step {t}) is {rows[i][k]}; the same "
                f"prompt alone gives {alone[i][k]}")

    for i, (k, t) in first_wrong.items():
        joined = [j for j, a in admitted.items() if j != i and admitted[i] < a <= t]
        if k > 0 and joined:
            return f"{said(i)}, and {_batch(plan, joined)} joined at that step or before. " + CORRUPTS
    for i, (k, t) in first_wrong.items():
        left = any(max(s for s, b in enumerate(driven.trace) if j in b) < admitted[i]
                   for j in admitted if j != i)
        if k == 0 and left:
            return f"{said(i)}. " + STALE_SLOT
    i = min(first_wrong)
    return (f"{said(i)}. Each request must give exactly its tokens alone: check its positions "
            "(counted from its own first token) and its row of the attention mask.")
