"""Kata 19: KVCache, CachedLlamaForCausalLM and generate against Hugging Face's LlamaForCausalLM
with its own cache (DynamicCache) on the tiny Llama: the cache's bookkeeping, the logits of every
call of a teacher-forced run (the prompt, one token at a time, a chunk of four with tokens
cached, one more), the same model without a cache, and generate's greedy tokens, with what each
call of your model is given. Named mistakes are what the numpy Llama computes with each one
(checker/models/llama.py, CACHE_MISTAKES)."""

import functools

import numpy as np

from checker import diagnose
from checker.models import llama
from checker.models.llama_kit import weights64
from checker.child.testkit import FAILED, attempt, expect, expect_close, fixture, ids_tensor, note, run, tensor

from . import kit

LOGITS_ATOL = 1e-3  # as kata 17: logits of size ~15 in float32; a correct model is within 1e-4
KV_SHAPE = (1, 2, 16)  # (batch, kv_heads, head_dim) of the tiny Llama's keys

ADVICE = {
    "cache_positions_restart":
        "the new tokens' positions restart at 0 in every call. With a cache they continue: the "
        "new tokens are at positions start .. start + seq - 1, where start is what the cache "
        "already holds (cache.get_seq_length(layer_idx) before the update). Pass start=start "
        "to rotary_tables.",
    "cache_mask_no_offset":
        "the causal mask has no offset: new token i sees keys 0 .. i only. It must see every "
        "cached key and the new ones up to itself: causal_mask(seq, start), start being the "
        "number of cached positions.",
    "cache_mask_missing":
        "the causal mask is left out once the cache holds tokens: the new tokens of a chunk see "
        "each other's future. Add causal_mask(seq, start) on every call, not only the first.",
    "cache_not_appended":
        "the cache is never appended to: every call after the prompt sees the prompt's keys and "
        "values and its own, not those of the calls in between, and start stays at the prompt's "
        "length. update must store the longer tensors (self.keys[layer_idx] = F.concat(...)), "
        "not only return them.",
    "cache_raw_keys":
        "the keys are cached before RoPE and all rotated, on every call, by the new tokens' "
        "positions: each earlier key turns by the newest token's angle instead of its own. "
        "Rotate k by its own positions before cache.update, and cache the rotated keys.",
    "cache_values_rotated":
        "the values are rotated by RoPE like the keys. Only q and k are rotated; v is cached as "
        "v_proj gives it.",
    "cache_shared_layers":
        "one cache is shared by all layers: every layer appends to and reads the same keys and "
        "values. Keep each layer's keys and values apart, indexed by layer_idx.",
    "cache_start_from_layer0":
        "every layer takes its start from layer 0's cache (get_seq_length() reads layer 0 by "
        "default), which already holds this call's tokens when layer 1 reads it. Read "
        "cache.get_seq_length(layer_idx) before that layer's update, or read the start once, "
        "before the first layer, and pass it down.",
}


def _golden():
    return fixture("golden/step_19.npz")


def _config():
    return llama.Config.of(fixture("llama_config.json"))


def _calls(g) -> list[np.ndarray]:
    """The teacher-forced run's calls: (1, seq) ids each, the prompt first."""
    ids, bounds = g["ids"], np.cumsum(g["calls"])
    return [ids[:, a:b] for a, b in zip([0, *bounds[:-1]], bounds)]


def _starts(g) -> list[int]:
    return [0, *np.cumsum(g["calls"])[:-1].tolist()]


def _run(learner):
    """Your model on the golden run's calls, one cache of yours, once per check."""
    from checker.child.testkit import once

    g = _golden()
    return once("run", lambda: kit.run_calls(learner, _calls(g), _config().num_hidden_layers))


@functools.lru_cache(maxsize=1)
def _mistaken_runs() -> dict:
    """advice -> each call's logits (or None) when the run commits that mistake."""
    g = _golden()
    return {ADVICE[flag]: llama.cached_logits(_calls(g), weights64(), _config(), **{flag: True})
            for flag in llama.CACHE_FLAGS}


def _top(logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.take_along_axis(logits, ids, axis=-1)


def _lengths_problem(call: kit.Call, before: int, after: str) -> str | None:
    expected = before + call.ids.shape[1]
    for layer, length in enumerate(call.lengths):
        if isinstance(length, str):
            return f"After {after}, {length}."
        if length != expected:
            kept = (" The cache did not keep this call's keys and values: update must store the "
                    "longer tensors (self.keys[layer_idx] = F.concat(...)), not only return them."
                    if length == before else "")
            return (f"After {after}, your cache's get_seq_length({layer}) is {length}; expected "
                    f"{expected}: every layer holds the keys and values of all {expected} "
                    f"positions so far.{kept}")
    return None


def _check_call(g, calls: list, index: int, done: list) -> bool:
    """Call `index` of the run against Hugging Face's logits, naming a mistake it matches."""
    what = kit.describe_call(index, _calls(g))
    if index >= len(done):
        failed = len(done) - 1
        first_line = next(iter((done[failed].problem or "").splitlines()), "")
        return expect(False, f"{what} was not reached: call {failed + 1} failed first. {first_line}")
    call = done[index]
    if call.logits is None:
        return expect(False, call.problem)
    seq = call.ids.shape[1]
    vocab = g["last_logits"].shape[0]
    if not expect(call.logits.shape == (1, seq, vocab),
                  f"{what} returned shape {call.logits.shape}; expected (batch, new tokens, "
                  f"vocab_size) = {(1, seq, vocab)}: logits for the new tokens only."):
        return False
    start = _starts(g)[index]
    rows = slice(start, start + seq)
    top_ids = g["top_ids"][rows]
    mistakes = {advice: _top(run_logits[index][0], top_ids)
                for advice, run_logits in _mistaken_runs().items() if run_logits[index] is not None}
    ok = expect_close(f"{what}: the logits of Hugging Face's 20 most likely tokens at each new "
                      "position", _top(call.logits[0], top_ids), g["top_logits"][rows],
                      atol=LOGITS_ATOL, mistakes=mistakes)
    if index == len(calls) - 1:
        ok = expect_close(f"{what}: the last position's logits", call.logits[0, -1],
                          g["last_logits"], atol=LOGITS_ATOL) and ok
    problem = _lengths_problem(call, start, f"call {index + 1}")
    return expect(problem is None, problem or "") and ok


# ---- the cache's own bookkeeping ------------------------------------------------------------

def _kv(rng, batch: int, positions: int) -> np.ndarray:
    b, heads, head_dim = KV_SHAPE
    return rng.standard_normal((batch, heads, positions, head_dim)).astype(np.float32)


def _update(cache, k, v, layer: int, what: str):
    """cache.update(k, v, layer) as numpy (keys, values), or None after saying why."""
    out = attempt(what, lambda: cache.update(tensor(k), tensor(v), layer))
    if out is FAILED:
        return None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        expect(False, f"{what} returned {type(out).__name__}; expected a pair (keys, values) of "
                      "that layer's tensors so far.")
        return None
    keys = run(f"{what}'s keys", lambda: out[0], batch=False)
    values = run(f"{what}'s values", lambda: out[1], batch=False)
    return None if keys is None or values is None else (keys, values)


def _seq_length(cache, layer: int | None, expected: int, after: str, before: int | None = None) -> bool:
    call = "get_seq_length()" if layer is None else f"get_seq_length({layer})"
    got = attempt(call, lambda: cache.get_seq_length() if layer is None else cache.get_seq_length(layer))
    if got is FAILED:
        return False
    if _as_int(got) == expected:
        return True
    if expected == 0:
        why = ": a new cache holds nothing."
    elif before is not None and got == before:
        why = (": the cache did not keep the last update. Store the longer tensors in the cache "
               "(self.keys[layer_idx] = F.concat(...)), not only return them.")
    else:
        why = " (the number of positions that layer holds)."
    return expect(False, f"{after}, {call} returned {got!r}; expected {expected}{why}")


def _as_int(value) -> int | None:
    """A count as an int (a MAX Dim or a numpy integer counts too), or None."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _expect_update(what: str, got, keys: list, values: list, wrong: dict) -> bool:
    """update's (keys, values) against every update of that layer so far, concatenated."""
    want_k, want_v = np.concatenate(keys, axis=2), np.concatenate(values, axis=2)
    return (expect_close(f"{what}: the keys returned", got[0], want_k, atol=0, rtol=0,
                         mistakes={advice: make(keys) for advice, make in wrong.items()})
            and expect_close(f"{what}: the values returned", got[1], want_v, atol=0, rtol=0,
                             mistakes={"keys and values are swapped: update returns (keys, values)":
                                       want_k}))


UPDATE_MISTAKES = {
    "update returns only the new keys: return all of that layer's keys so far (the earlier ones "
    "and the new ones, concatenated along the positions, axis 2).": lambda ks: ks[-1],
    "the cache is never appended to: it still holds the first update's keys only. Store the "
    "concatenation in the cache (self.keys[layer_idx] = F.concat([...], axis=2)), not only "
    "return it.": lambda ks: np.concatenate([ks[0], ks[-1]], axis=2),
    "the new keys are put before the cached ones: append them after (F.concat([cached, new], "
    "axis=2)).": lambda ks: np.concatenate(ks[::-1], axis=2),
}


def test_kv_cache_appends(learner):
    """One layer, three updates of 3, 2 and 1 positions."""
    cache = attempt("KVCache()", learner.KVCache)
    if cache is FAILED or not _seq_length(cache, None, 0, "Before any update"):
        return
    rng = np.random.default_rng(19)
    keys, values, held = [], [], 0
    for n in (3, 2, 1):
        keys.append(_kv(rng, 1, n))
        values.append(_kv(rng, 1, n))
        what = f"update(keys, values, 0) with {n} new position{_s(n)}, {held} held"
        got = _update(cache, keys[-1], values[-1], 0, what)
        if got is None or not _expect_update(what, got, keys, values, UPDATE_MISTAKES):
            return
        before, held = held, held + n
        after = f"After updates of {' + '.join(str(k.shape[2]) for k in keys)} positions"
        if not (_seq_length(cache, 0, held, after, before) and _seq_length(cache, None, held, after, before)):
            return


def _s(n: int) -> str:
    return "" if n == 1 else "s"


SHARED = ("one cache is shared by all layers: layer 1's update returned layer 0's keys too. Keep "
          "each layer's keys and values apart: layer_idx picks the layer's own.")


def test_kv_cache_keeps_layers_apart(learner):
    """Two layers, a batch of 2: layer 0 and layer 1 updated in turn, twice."""
    cache = attempt("KVCache()", learner.KVCache)
    if cache is FAILED:
        return
    rng = np.random.default_rng(20)
    keys, values, every = {0: [], 1: []}, {0: [], 1: []}, []
    for n in (4, 1):
        for layer in (0, 1):
            keys[layer].append(_kv(rng, 2, n))
            values[layer].append(_kv(rng, 2, n))
            every.append(keys[layer][-1])
            shared = np.concatenate(every, axis=2)  # what one store for both layers returns
            wrong = {SHARED: lambda _, shared=shared: shared, **UPDATE_MISTAKES}
            what = f"update(keys, values, {layer}) with {n} new position{_s(n)}, batch of 2"
            got = _update(cache, keys[layer][-1], values[layer][-1], layer, what)
            if got is None or not _expect_update(what, got, keys[layer], values[layer], wrong):
                return
        held = sum(k.shape[2] for k in keys[0])
        for layer in (0, 1):
            if not _seq_length(cache, layer, held, f"After updating both layers with {held} "
                                                   "positions each", held - n):
                return


# ---- the model with a cache, call by call ----------------------------------------------------

def test_parameter_names(learner):
    """Kata 17's names, unchanged (model.embed_tokens, model.layers.N.*, model.norm, lm_head): the
    tiny Llama's weights load (a mismatch is said by name)."""
    kit.model(learner)


def test_prefill(learner):
    """The 13-token prompt in one call, with a new cache."""
    g = _golden()
    done = _run(learner)
    if done is not None:
        _check_call(g, _calls(g), 0, done)


def test_decode_steps(learner):
    """Four calls of one token each, with 13 to 16 cached."""
    g = _golden()
    done = _run(learner)
    if done is None:
        return
    calls = _calls(g)
    for index in range(1, len(calls)):
        if calls[index].shape[1] != 1:
            break
        if not _check_call(g, calls, index, done):
            return


def _no_offset_hint(index: int, calls: list) -> str:
    """A chunk that raised after every one-token call matched: what a mask without the offset
    does (causal_mask(seq, 0) is (seq, seq); the scores are (seq, cached + seq))."""
    seq, cached = calls[index].shape[1], sum(c.shape[1] for c in calls[:index])
    return (f"\nYour model ran one new token at a time and failed on {seq} at once with {cached} "
            f"cached. That is what a causal mask without the offset does: causal_mask({seq}, 0) is "
            f"({seq}, {seq}), the scores ({seq}, {cached + seq}). With one new token the mask is "
            f"all zeros and (1, 1) broadcasts, so only a chunk shows it. Use causal_mask(seq, start), "
            "start being the number of cached positions.")


def _matched(g, call: kit.Call, index: int) -> bool:
    """Whether call `index` gave Hugging Face's logits (nothing recorded)."""
    start, seq = _starts(g)[index], call.ids.shape[1]
    if call.logits is None or call.logits.shape[:2] != (1, seq):
        return False
    rows = slice(start, start + seq)
    return diagnose.compare("", _top(call.logits[0], g["top_ids"][rows]), g["top_logits"][rows],
                            atol=LOGITS_ATOL) is None


def test_chunk_after_decoding(learner):
    """Four tokens in one call with 17 cached (where the mask's offset shows), then one more."""
    g = _golden()
    done = _run(learner)
    if done is None:
        return
    calls = _calls(g)
    first = next(i for i in range(1, len(calls)) if calls[i].shape[1] > 1)
    for index in range(first, len(calls)):
        call = done[index] if index < len(done) else None
        if call is not None and call.logits is None and " raised " in (call.problem or ""):
            singles = all(_matched(g, done[i], i) for i in range(1, first))
            expect(False, call.problem + (_no_offset_hint(index, calls) if singles else ""))
            return
        if not _check_call(g, calls, index, done):
            return


def test_cached_equals_uncached(learner):
    """The same 22 tokens in one call with cache=None: Hugging Face's logits without a cache, and
    every logit of your cached run equals your own model's without one."""
    g = _golden()
    model = kit.model(learner)
    if model is None:
        return
    what = "CachedLlamaForCausalLM(all 22 ids, cache=None)"
    out = run(what, lambda: model(ids_tensor(g["ids"]), None))
    if out is None:
        return
    total, vocab = g["ids"].shape[1], g["last_logits"].shape[0]
    if not expect(out.shape == (1, total, vocab), f"{what} returned shape {out.shape}; expected "
                                                  f"{(1, total, vocab)}."):
        return
    plain = _top(out[0], g["top_ids"])
    if not expect_close(f"{what}: the logits of Hugging Face's 20 most likely tokens at every "
                        "position", plain, g["uncached_top_logits"], atol=LOGITS_ATOL):
        return
    done = _run(learner) or []
    starts = _starts(g)
    for index, call in enumerate(done):
        if call.logits is None or call.logits.shape[:2] != call.ids.shape:
            return  # said by the lines above
        rows = slice(starts[index], starts[index] + call.ids.shape[1])
        if not expect_close(f"{kit.describe_call(index, _calls(g))} against your own model "
                            "without a cache (the same positions)", _top(call.logits[0], g["top_ids"][rows]),
                            plain[rows], atol=LOGITS_ATOL):
            return


# ---- generate ----------------------------------------------------------------------------

def _greedy(learner):
    from checker.child.testkit import once

    g = _golden()
    prompt = g["greedy_prompt"][0].tolist()
    return once("greedy", lambda: kit.run_generate(learner, prompt, len(g["greedy_ids"])))


def _calls_problem(seen: list, prompt_length: int) -> str | None:
    """What the model calls of a generate show about its use of the cache (None: the right use)."""
    if not seen:
        return "your generate never called the model."
    first = seen[0]
    if first.shape != (1, prompt_length):
        return (f"the first call gave the model ids of shape {first.shape}; expected the whole "
                f"prompt at once, (1, {prompt_length}) (the prefill).")
    if first.cache is None:
        return ("your generate called the model without a cache (cache=None). Make one KVCache() "
                "before the loop and pass it to every call: model(ids, cache).")
    for number, call in enumerate(seen[1:], start=2):
        if call.cache is not first.cache:
            return (f"call {number} was given " + ("no cache" if call.cache is None else
                                                     "another cache object than the first call")
                    + ". Make the cache once, before the loop, and pass the same one every time.")
        if call.shape != (1, 1):
            return (f"call {number} gave the model ids of shape {call.shape}; after the prompt, "
                    "each step gives only the token chosen last, (1, 1): the cache holds the rest.")
    return None


def test_generate_feeds_one_token_per_step(learner):
    """Seen from the model: the prompt in one call, then one token per call, with one cache."""
    g = _golden()
    result = _greedy(learner)
    if result is None:
        return
    problem = _calls_problem(result.seen, g["greedy_prompt"].shape[1])
    shapes = ", ".join(str(s.shape) for s in result.seen[:4]) + (" ..." if len(result.seen) > 4 else "")
    expect(problem is None, f"generate(model, prompt, {len(g['greedy_ids'])}): {problem}"
                            + (f" (the ids your model was given: {shapes})" if shapes else ""))
    if result.problem:
        expect(False, result.problem)


def _tokens_problem(tokens: list, want: list, prompt: list, seen: list) -> str | None:
    if tokens[:len(prompt)] == prompt and tokens[len(prompt):] == want:
        return "your generate returned the prompt too: return only the new tokens."
    for step, (mine, theirs) in enumerate(zip(tokens, want)):
        if mine != theirs:
            last = seen[step].last if step < len(seen) else None
            if last is not None and last.shape == (len(last),) and theirs < len(last) \
                    and last[theirs] >= last.max() - LOGITS_ATOL:
                return None  # a tie within float32 rounding: your path is as good as theirs
            said = f"greedy token {step + 1} is {mine}; Hugging Face's is {theirs}."
            if last is None or last.ndim != 1 or not 0 <= mine < len(last):
                return said
            if last[mine] < last.max():
                return (f"{said} It is not the most likely token of your model's last position "
                        f"there ({int(np.argmax(last))} is): take the argmax of the last "
                        "position's logits of each call.")
            return (f"{said} Your model's logits put {mine} first there: the lines above say "
                    "whether your model, or what your generate gives it, differs.")
    if len(tokens) != len(want):
        return f"your generate returned {len(tokens)} tokens; expected {len(want)}."
    return None


def test_greedy_tokens(learner):
    """16 greedy tokens equal Hugging Face's generate (with its cache); with eos_token_id set to
    one of them, generate stops after it."""
    g = _golden()
    prompt, want = g["greedy_prompt"][0].tolist(), g["greedy_ids"].tolist()
    result = _greedy(learner)
    if result is None or result.tokens is None:
        if result is not None:
            expect(False, result.problem)
        return
    problem = _tokens_problem(result.tokens, want, prompt, result.seen)
    if not expect(problem is None, f"generate(model, prompt, {len(want)}): {problem}"):
        return
    note(f"greedy tokens: {result.tokens}")
    stop = next(i for i, t in enumerate(want) if i >= 3 and t not in want[:i])
    early = kit.run_generate(learner, prompt, len(want), eos=want[stop])
    if early is None:
        return
    if early.tokens is None:
        expect(False, early.problem)
        return
    expect(early.tokens == want[:stop + 1],
           f"generate(model, prompt, {len(want)}, eos_token_id={want[stop]}) returned "
           f"{len(early.tokens)} tokens; expected {stop + 1}, ending with {want[stop]}: stop right "
           "after the end-of-sequence token is chosen (it is the last one returned).")
