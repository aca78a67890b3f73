"""Kata 19: KVCache, CachedLlamaForCausalLM and generate against Hugging Face's LlamaForCausalLM
with its own cache (DynamicCache) on the tiny Llama: the cache's bookkeeping, the logits of every
call of a teacher-forced run (the prompt, one token at a time, a chunk of four with tokens
cached, one more), the same model without a cache, what the cache holds (Hugging Face's cached keys
and values, read through what update returns) and a cache filled with them through update, and
generate's greedy tokens, with what each call of your model is given. Named mistakes are what the numpy Llama computes with each one
(checker/models/llama.py, CACHE_MISTAKES)."""

import functools

import numpy as np

from checker.models import llama
from checker.models.llama_kit import weights64
from checker.child.testkit import FAILED, attempt, expect, expect_close, fixture, ids_tensor, note, once, run

from . import kit


# ---- the golden data: Hugging Face's run, call by call, and its generate -------------------------

def _golden():
    return fixture("golden/step_19.npz")


def _config():
    return llama.Config.of(fixture("llama_config.json"))


def _run(learner):
    """Your model on the golden run's calls, one cache of yours, once per check."""
    g = _golden()
    return once("run", lambda: kit.run_calls(learner, kit.calls_of(g), _config().num_hidden_layers))


def _greedy(learner):
    """Your generate from the golden prompt, watched, once per check."""
    g = _golden()
    prompt = g["greedy_prompt"][0].tolist()
    return once("greedy", lambda: kit.run_generate(learner, prompt, len(g["greedy_ids"])))


# ---- named mistakes: what each computes ----------------------------------------------------------

# A mistake of the model's run (a flag of the numpy Llama's cached_logits) -> what the check says.
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


@functools.lru_cache(maxsize=1)
def _mistaken_runs() -> dict:
    """advice -> each call's logits (or None) when the run commits that mistake."""
    g = _golden()
    return {ADVICE[flag]: llama.cached_logits(kit.calls_of(g), weights64(), _config(), **{flag: True})
            for flag in llama.CACHE_FLAGS}


# A mistake of KVCache.update -> what it returns, from that layer's keys so far.
UPDATE_MISTAKES = {
    "update returns only the new keys: return all of that layer's keys so far (the earlier ones "
    "and the new ones, concatenated along the positions, axis 2).": lambda ks: ks[-1],
    "the cache is never appended to: it still holds the first update's keys only. Store the "
    "concatenation in the cache (self.keys[layer_idx] = F.concat([...], axis=2)), not only "
    "return it.": lambda ks: np.concatenate([ks[0], ks[-1]], axis=2),
    "the new keys are put before the cached ones: append them after (F.concat([cached, new], "
    "axis=2)).": lambda ks: np.concatenate(ks[::-1], axis=2),
}

# The same, when one store serves both layers (its keys are made in the test).
SHARED = ("one cache is shared by all layers: layer 1's update returned layer 0's keys too. Keep "
          "each layer's keys and values apart: layer_idx picks the layer's own.")


# What a cache holds: a mistake -> what it says (the numbers of its config filled in).
ROTATED_ON_READ = (
    "keys cached before RoPE (rotated on every read): your cache holds each key as k_proj gives "
    "it, and your model rotates all of them again at every call. The logits come out right, but "
    "every step rotates every cached key once more, and a cache that holds keys the way Hugging "
    "Face's does (and as kata chat's compiled step fills yours), after RoPE, gets them rotated "
    "twice. Rotate k by its own positions once, before cache.update; cache the rotated keys and "
    "use what update returns as it is.")
REPEATED_HEADS = (
    "repeated kv heads cached (repeat_kv before the cache): your cache holds num_attention_heads "
    "({q}) heads, each of the num_key_value_heads ({kv}) heads copied {n} times: {n} times the "
    "memory ({smol} times on SmolLM2), the saving of grouped-query attention lost, and a cache "
    "that holds {kv} heads, as Hugging Face's does, no longer fits your model. Give cache.update k "
    "and v with num_key_value_heads heads, and call repeat_kv on the keys and values it returns.")


def _repeated_heads_advice() -> str:
    c = _config()
    return REPEATED_HEADS.format(q=c.num_attention_heads, kv=c.num_key_value_heads,
                                 n=c.num_attention_heads // c.num_key_value_heads, smol=3)


def _prompt_length() -> int:
    return int(_golden()["calls"][0])


def _cached_by_hugging_face(layer: int) -> tuple[np.ndarray, np.ndarray]:
    """Layer `layer`'s keys (after RoPE) and values in Hugging Face's cache after the prefill:
    (1, num_key_value_heads, prompt, head_dim) each."""
    g, prompt = _golden(), _prompt_length()
    return g["keys"][layer][:, :, :prompt], g["values"][layer][:, :, :prompt]


def _unrotated(keys: np.ndarray, turns: int = -1) -> np.ndarray:
    """Keys at positions 0 .. n - 1 rotated `turns` more times by their own positions (-1: the
    keys before RoPE; +1: rotated twice)."""
    c = _config()
    cos, sin = llama.rotary_tables(c.head_dim, keys.shape[2], c.rope_theta)
    return llama.apply_rotary(np.asarray(keys, dtype=np.float64), cos, turns * sin)


# ---- the cache's own bookkeeping -----------------------------------------------------------------

def test_kv_cache_appends(learner):
    """One layer, three updates of 3, 2 and 1 positions."""
    cache = attempt("KVCache()", learner.KVCache)
    if cache is FAILED or not kit.expect_seq_length(cache, None, 0, "Before any update"):
        return
    rng = np.random.default_rng(19)
    keys, values, held = [], [], 0
    for n in (3, 2, 1):
        keys.append(kit.random_kv(rng, 1, n))
        values.append(kit.random_kv(rng, 1, n))
        what = f"update(keys, values, 0) with {n} new position{kit.plural(n)}, {held} held"
        got = kit.cache_update(cache, keys[-1], values[-1], 0, what)
        if got is None or not kit.expect_update(what, got, keys, values, UPDATE_MISTAKES):
            return
        before, held = held, held + n
        after = f"After updates of {' + '.join(str(k.shape[2]) for k in keys)} positions"
        if not (kit.expect_seq_length(cache, 0, held, after, before)
                and kit.expect_seq_length(cache, None, held, after, before)):
            return


def test_kv_cache_keeps_layers_apart(learner):
    """Two layers, a batch of 2: layer 0 and layer 1 updated in turn, twice."""
    cache = attempt("KVCache()", learner.KVCache)
    if cache is FAILED:
        return
    rng = np.random.default_rng(20)
    keys, values, every = {0: [], 1: []}, {0: [], 1: []}, []
    for n in (4, 1):
        for layer in (0, 1):
            keys[layer].append(kit.random_kv(rng, 2, n))
            values[layer].append(kit.random_kv(rng, 2, n))
            every.append(keys[layer][-1])
            shared = np.concatenate(every, axis=2)  # what one store for both layers returns
            wrong = {SHARED: lambda _, shared=shared: shared, **UPDATE_MISTAKES}
            what = f"update(keys, values, {layer}) with {n} new position{kit.plural(n)}, batch of 2"
            got = kit.cache_update(cache, keys[layer][-1], values[layer][-1], layer, what)
            if got is None or not kit.expect_update(what, got, keys[layer], values[layer], wrong):
                return
        held = sum(k.shape[2] for k in keys[0])
        for layer in (0, 1):
            if not kit.expect_seq_length(cache, layer, held, f"After updating both layers with "
                                                              f"{held} positions each", held - n):
                return


# ---- the model with a cache, call by call --------------------------------------------------------

def test_parameter_names(learner):
    """Kata 17's names, unchanged (model.embed_tokens, model.layers.N.*, model.norm, lm_head): the
    tiny Llama's weights load (a mismatch is said by name)."""
    kit.model(learner)


def test_prefill(learner):
    """The 13-token prompt in one call, with a new cache."""
    g = _golden()
    done = _run(learner)
    if done is not None:
        kit.check_call(g, kit.calls_of(g), 0, done, _mistaken_runs)


def test_decode_steps(learner):
    """Four calls of one token each, with 13 to 16 cached."""
    g = _golden()
    done = _run(learner)
    if done is None:
        return
    calls = kit.calls_of(g)
    for index in range(1, len(calls)):
        if calls[index].shape[1] != 1:
            break
        if not kit.check_call(g, calls, index, done, _mistaken_runs):
            return


def test_chunk_after_decoding(learner):
    """Four tokens in one call with 17 cached (where the mask's offset shows), then one more."""
    g = _golden()
    done = _run(learner)
    if done is None:
        return
    calls = kit.calls_of(g)
    first = next(i for i in range(1, len(calls)) if calls[i].shape[1] > 1)
    for index in range(first, len(calls)):
        call = done[index] if index < len(done) else None
        if call is not None and call.logits is None and " raised " in (call.problem or ""):
            singles = all(kit.matched(g, done[i], i) for i in range(1, first))
            expect(False, call.problem + (kit.no_offset_hint(index, calls) if singles else ""))
            return
        if not kit.check_call(g, calls, index, done, _mistaken_runs):
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
    plain = kit.top(out[0], g["top_ids"])
    if not expect_close(f"{what}: the logits of Hugging Face's 20 most likely tokens at every "
                        "position", plain, g["uncached_top_logits"], atol=kit.LOGITS_ATOL):
        return
    done = _run(learner) or []
    starts = kit.starts_of(g)
    for index, call in enumerate(done):
        if call.logits is None or call.logits.shape[:2] != call.ids.shape:
            return  # said by the lines above
        rows = slice(starts[index], starts[index] + call.ids.shape[1])
        if not expect_close(f"{kit.describe_call(index, kit.calls_of(g))} against your own model "
                            "without a cache (the same positions)",
                            kit.top(call.logits[0], g["top_ids"][rows]), plain[rows],
                            atol=kit.LOGITS_ATOL):
            return


# ---- what the cache holds: Hugging Face's keys and values -----------------------------------------

def test_cache_contents_after_prefill(learner):
    """What each layer's last cache.update of the prefill returned (all that layer holds):
    Hugging Face's cached keys, after RoPE, and values, num_key_value_heads heads each."""
    done = _run(learner)
    if done is None:
        return
    prefill = kit.describe_call(0, kit.calls_of(_golden()))
    if done[0].logits is None:
        first_line = next(iter((done[0].problem or "").splitlines()), "")
        expect(False, f"What your cache holds after {prefill} was not read: the call failed. "
                      f"{first_line}")
        return
    n_rep = _config().num_attention_heads // _config().num_key_value_heads
    repeated = _repeated_heads_advice()
    for layer in range(_config().num_hidden_layers):
        update = kit.held(done[0].updates, layer)
        if not expect(update is not None,
                      f"{prefill} never called cache.update(k, v, {layer}): every layer puts its "
                      "new keys and values into the cache and attends to what update returns."):
            return
        what = f"{prefill}: what cache.update(k, v, {layer}) returned, all that layer {layer} holds,"
        got = kit.returned(update.out, what)
        if got is None:
            return
        keys, values = _cached_by_hugging_face(layer)
        if not (kit.expect_named(f"{what} its keys against Hugging Face's cached keys (after RoPE)",
                                 got[0], keys, {repeated: llama.repeat_kv(keys, n_rep),
                                                ROTATED_ON_READ: _unrotated(keys)},
                                 atol=kit.KEYS_ATOL)
                and kit.expect_named(f"{what} its values against Hugging Face's cached values",
                                     got[1], values, {repeated: llama.repeat_kv(values, n_rep)},
                                     atol=kit.KEYS_ATOL)):
            return


def test_decode_from_hugging_face_keys(learner):
    """A new KVCache of yours filled through update with Hugging Face's cached keys and values of
    the prompt, as kata chat's compiled step fills it; then the next token: Hugging Face's
    logits."""
    g, prompt, c = _golden(), _prompt_length(), _config()
    held = [_cached_by_hugging_face(layer) for layer in range(c.num_hidden_layers)]
    keys, values = np.stack([k for k, _ in held]), np.stack([v for _, v in held])
    ids = g["ids"][:, prompt:prompt + 1]
    what = (f"CachedLlamaForCausalLM(ids, cache) (1 new token; the cache a new KVCache of yours "
            f"given Hugging Face's cached keys and values of the {prompt}-token prompt through "
            "update, layer by layer)")
    result = kit.run_filled(learner, keys, values, ids, what)
    if result is None:
        return
    logits, problem, updates = result
    heads = {u.shape[1] for u in updates if len(u.shape) == 4}
    if c.num_attention_heads in heads and c.num_attention_heads != c.num_key_value_heads:
        expect(False, (problem or what) + f"\nYour model gave cache.update keys of "
                      f"{c.num_attention_heads} heads; the cache holds Hugging Face's "
                      f"{c.num_key_value_heads}.\nThis is what happens with {_repeated_heads_advice()}")
        return
    if problem:
        expect(False, problem)
        return
    vocab = g["last_logits"].shape[0]
    if not expect(logits.shape == (1, 1, vocab), f"{what} returned shape {logits.shape}; expected "
                                                 f"{(1, 1, vocab)}."):
        return
    top_ids = g["top_ids"][prompt:prompt + 1]
    twice = llama.cached_logits([ids], weights64(), c, held={
        layer: (_unrotated(k, turns=1), v) for layer, (k, v) in enumerate(held)})[0]
    kit.expect_named(f"{what}: the logits of Hugging Face's 20 most likely tokens",
                     kit.top(logits[0], top_ids), g["top_logits"][prompt:prompt + 1],
                     {ROTATED_ON_READ: kit.top(twice[0], top_ids)}, atol=kit.LOGITS_ATOL)


# ---- generate ------------------------------------------------------------------------------------

def test_generate_feeds_one_token_per_step(learner):
    """Seen from the model: the prompt in one call, then one token per call, with one cache."""
    g = _golden()
    result = _greedy(learner)
    if result is None:
        return
    problem = kit.calls_problem(result.seen, g["greedy_prompt"].shape[1])
    shapes = ", ".join(str(s.shape) for s in result.seen[:4]) + (" ..." if len(result.seen) > 4 else "")
    expect(problem is None, f"generate(model, prompt, {len(g['greedy_ids'])}): {problem}"
                            + (f" (the ids your model was given: {shapes})" if shapes else ""))
    if result.problem:
        expect(False, result.problem)


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
    problem = kit.tokens_problem(result.tokens, want, prompt, result.seen)
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
