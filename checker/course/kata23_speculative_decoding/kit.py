"""Kata 23's helpers, shared by its hidden tests and its fresh-input spec: numpy references
(prompt lookup, the rounds a speculative run must make), the learner's speculative_generate
watched (child side: its model calls through a recorder, its drafter through a wrapper), and what
a watched run shows, said with the kata's named mistakes. numpy only at import: the parent's
spec imports this module; MAX and the test kit are imported inside the child-side functions.

The model calls reuse kata 19's machinery (checker.course.kata19_kv_cache.kit: one graph per
call, and the whole run again op by op when staging fails) and kata 22's recorder."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LOGITS_ATOL = 1e-3  # as katas 17, 19 and 22: a correct model is within 1e-4 of the reference
LAYERS = 2  # the tiny Llama's layers: the cache lengths read before every call

# ---- the statistical check of speculative_sample (argued in test_kata.py, beside the test) ----
SAMPLE_TRIALS = 20000
SAMPLE_DELTA = 1e-7  # each of the four statistical checks fails a correct sampler at most this often
SAMPLE_SEED = 20261208
# Drafter and target distributions over 5 tokens, 2 drafted positions (the target has 3 rows):
# rejections are common (acceptance about 0.6) and every residual differs from p.
SAMPLE_Q = np.array([[0.40, 0.30, 0.15, 0.10, 0.05],
                     [0.05, 0.10, 0.15, 0.30, 0.40]])
SAMPLE_P = np.array([[0.10, 0.20, 0.30, 0.25, 0.15],
                     [0.30, 0.30, 0.10, 0.20, 0.10],
                     [0.50, 0.05, 0.05, 0.10, 0.30]])


def dkw_epsilon(draws: int, delta: float = SAMPLE_DELTA) -> float:
    """The Kolmogorov-Smirnov distance a correct sampler's `draws` exceed with probability at most
    delta (Dvoretzky-Kiefer-Wolfowitz, Massart's constant: 2 exp(-2 n eps^2) = delta)."""
    return float(np.sqrt(np.log(2 / delta) / (2 * draws)))


def hoeffding_epsilon(draws: int, span: float, delta: float = SAMPLE_DELTA) -> float:
    """The distance of a mean of `draws` values in an interval of width span from its expectation
    that is exceeded with probability at most delta (Hoeffding)."""
    return float(span * np.sqrt(np.log(2 / delta) / (2 * draws)))


def cdf_distance(draws: np.ndarray, probs: np.ndarray) -> float:
    counts = np.bincount(draws, minlength=len(probs))[:len(probs)] / max(len(draws), 1)
    return float(np.abs(np.cumsum(counts) - np.cumsum(probs)).max())


def expected_emitted(q: np.ndarray = SAMPLE_Q, p: np.ndarray = SAMPLE_P) -> float:
    """The mean number of tokens speculative sampling emits: position j is reached when every
    earlier one was accepted, each with probability sum_x min(p, q)."""
    accept = np.minimum(p[:len(q)], q).sum(axis=-1)
    return float(1 + np.cumprod(accept).sum())


def no_min_acceptance(tokens, q, p) -> np.ndarray:
    rows = np.arange(len(tokens))
    return p[rows, tokens] / q[rows, tokens]


def unnormalised_residual(p, q) -> np.ndarray:
    return np.maximum(p - q, 0.0)


# ---- numpy references -------------------------------------------------------------------------

def prompt_lookup(ids, num_tokens: int, max_ngram_size: int) -> list[int]:
    """Hugging Face's PromptLookupCandidateGenerator.get_candidates, for one row, no eos."""
    ids = [int(t) for t in ids]
    for size in range(min(max_ngram_size, len(ids) - 1), 0, -1):
        for start in range(len(ids) - size + 1):
            if ids[start:start + size] == ids[-size:] and start + size < len(ids):
                return ids[start + size:start + size + num_tokens]
    return []


def split(flat: np.ndarray, lengths) -> list[list[int]]:
    return [a.tolist() for a in np.split(np.asarray(flat), np.cumsum(lengths)[:-1])]


# ---- a speculative run, watched ----------------------------------------------------------------

@dataclass
class Round:
    """One model call of the learner's speculative_generate, with the drafter call before it."""
    context: list | None  # what the drafter was given (None: no drafter call before this call)
    draft: list  # what the drafter returned ([] when not called)
    fed: list | None  # the ids the call was given (None: not ids of one row)
    lengths: list  # get_seq_length(layer) of the cache it was given, before the call
    logits: np.ndarray | None = None  # (fed, vocab)


@dataclass
class Run:
    rounds: list = field(default_factory=list)
    tokens: list | None = None
    accepted: list | None = None
    problem: str | None = None  # why there are no tokens


def _cache_lengths(cache) -> list:
    if cache is None:
        return []
    out = []
    for layer in range(LAYERS):
        try:
            out.append(int(cache.get_seq_length(layer)))
        except Exception as exc:  # noqa: BLE001
            out.append(f"get_seq_length({layer}) raised {type(exc).__name__}")
    return out


def run_speculative(learner, make_drafter, prompt: list, max_new: int, eos: int | None,
                    what: str) -> Run | None:
    """Your speculative_generate(model, prompt, max_new, drafter, eos_token_id=eos), with your
    model (kata 19's, the tiny Llama) seen through a recorder and the drafter through a wrapper.
    make_drafter(model) -> a drafter (the model as yours, unrecorded: an early-exit drafter's
    calls are not the full model's)."""
    from checker.child.staging import staged_then_plain
    from checker.course.kata19_kv_cache.kit import failure, model
    from checker.course.kata22_batched_generation.kit import Recorder

    the_model = model(learner)
    if the_model is None:
        return None

    def attempt(plain: bool):
        run = Run()
        pending: list = []  # drafter calls since the last model call

        class Watch(Recorder):
            def __call__(self, *args, **kwargs):
                cache = args[1] if len(args) > 1 else kwargs.get("cache")
                context, draft = pending[-1] if pending else (None, [])
                pending.clear()
                ids = _ids(args[0] if args else kwargs.get("input_ids"))
                round_ = Round(context, draft, ids, _cache_lengths(cache))
                run.rounds.append(round_)
                value = super().__call__(*args, **kwargs)
                try:
                    round_.logits = np.asarray(value.to_numpy())[0]
                except Exception:  # noqa: BLE001 - the learner's own reading of it says
                    pass
                return value

        drafter = make_drafter(the_model)

        def drafted(ids, drafter=drafter):
            context = [int(t) for t in np.asarray(ids).reshape(-1)]
            out = [int(t) for t in drafter(list(context))]
            pending.append((context, out))
            return list(out)

        try:
            value = learner.speculative_generate(Watch(the_model, plain), np.array(prompt, np.int64),
                                                 max_new, drafted, eos_token_id=eos)
        except Exception as exc:  # noqa: BLE001 - the learner's error is the message
            run.problem = failure(what, exc)
            return run
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            run.problem = (f"{what} returned {type(value).__name__}; expected (new tokens, accepted "
                           "counts): two lists of ints.")
            return run
        try:
            run.tokens = [int(t) for t in value[0]]
            run.accepted = [int(a) for a in value[1]]
        except Exception:  # noqa: BLE001
            run.problem = f"{what} returned {value!r:.200}; expected two lists of ints."
        return run
    return staged_then_plain(attempt)


def _ids(value):
    try:
        array = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    except Exception:  # noqa: BLE001
        return None
    return array[0].tolist() if array.ndim == 2 and array.shape[0] == 1 else None


# ---- what a run shows --------------------------------------------------------------------------

BONUS_FORGOTTEN = (
    "the bonus token is forgotten: a round that accepts its whole draft must also keep the "
    "model's own next token (the logits after the last drafted token are already computed). "
    "Every round emits accepted + 1 tokens, so the model is called once per round, no more.")
NOT_CROPPED = (
    "the cache is not cropped after a rejection: it still holds the rejected draft tokens' keys "
    "and values, so the next round attends to tokens that are not in the text. After each round "
    "crop it to every kept id but the last: cache.crop(len(ids) - 1).")
DRAFT_ARGMAX = (
    "acceptance is compared on the draft's own choices instead of the target's: a drafted token "
    "is kept only while it equals the FULL model's argmax at its position (the logits of this "
    "round's call), never the drafter's.")


def expected_rounds(prompt: list, greedy: list, max_new: int, eos, rounds: list) -> str | None:
    """None when the rounds are what speculative decoding makes of these drafts: each drafter call
    given every id so far, each call given the unseen ids then the draft, with a cache cropped to
    the kept ids, emitting the agreeing prefix plus the bonus token (greedy: the target's tokens)."""
    ids, emitted, cached_ok = list(prompt), 0, 0
    for number, r in enumerate(rounds, start=1):
        done = emitted >= max_new or (emitted and greedy[emitted - 1] == eos)
        if done:
            return (f"the model was called {len(rounds)} times; the accepted counts imply "
                    f"{number - 1} calls (one per round, each emitting accepted + 1 tokens).")
        if r.context is not None and r.context != ids:
            return _context_problem(number, r.context, ids, rounds[number - 2] if number > 1 else None,
                                    greedy, len(prompt))
        if r.fed is None:
            return f"call {number} was not given (1, n) int64 ids."
        if any(not isinstance(n, int) for n in r.lengths) or len(set(r.lengths)) > 1:
            return f"before call {number}, the cache's layers hold {r.lengths} positions; expected equal."
        cached = r.lengths[0] if r.lengths else 0
        if number > 1 and cached > len(ids) - 1:
            if cached >= cached_ok:
                return f"before call {number} the cache holds {cached} positions, {len(ids)} ids are known: " + NOT_CROPPED
            return f"before call {number} the cache holds {cached} positions; at most {len(ids) - 1} ids were kept."
        want = ids[cached:] + r.draft
        if r.fed != want:
            return (f"call {number} was given {r.fed}; expected the ids the cache has not seen "
                    f"({ids[cached:]}) then the draft ({r.draft}).")
        out = kept(r.draft, greedy, emitted, max_new, eos)
        cached_ok = len(ids) + len(r.draft)  # what the cache holds after this call, uncropped
        ids += out
        emitted += len(out)
    return None


def _context_problem(number, got, want, last: Round | None, greedy, prompt_len) -> str:
    prefix = f"the drafter was given {len(got)} ids before call {number}; expected {len(want)} "
    if last is not None and last.context is not None and last.draft:
        before, draft = last.context, last.draft
        upto = len(before) + len(draft)
        if got == before + draft and want[:upto] == got and len(want) == upto + 1:
            return (prefix + f"(every id so far). Round {number - 1} accepted all {len(draft)} "
                    "drafted tokens and kept no more: " + BONUS_FORGOTTEN)
        if got[:upto] == before + draft and want[:upto] != got[:upto]:
            return prefix + f"(round {number - 1} kept drafted tokens the model disagrees with): " + DRAFT_ARGMAX
    return prefix + "(the prompt and every token emitted so far)."


def accepted_implied(prompt: list, greedy: list, max_new: int, eos, rounds: list) -> list[int]:
    """Each round's accepted count, from its draft and the greedy tokens."""
    out, emitted = [], 0
    for r in rounds:
        tokens = kept(r.draft, greedy, emitted, max_new, eos)
        out.append(len(tokens) - 1)
        emitted += len(tokens)
    return out


def kept(draft: list, greedy: list, emitted: int, max_new: int = 1 << 30, eos=None) -> list:
    """What a round keeps after `emitted` greedy tokens: the draft's prefix that agrees with the
    greedy tokens, then the bonus token, cut at max_new and right after eos."""
    agree = 0
    while agree < len(draft) and emitted + agree < len(greedy) and draft[agree] == greedy[emitted + agree]:
        agree += 1
    out = greedy[emitted:emitted + agree + 1][:max_new - emitted]
    return out[:out.index(eos) + 1] if eos is not None and eos in out else out
