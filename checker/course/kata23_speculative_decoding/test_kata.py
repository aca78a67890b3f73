"""Kata 23: speculative decoding against Hugging Face's generate on the tiny Llama (an input-grounded
prompt): KVCache.crop read through update's answers; prompt_lookup against Hugging Face's
PromptLookupCandidateGenerator; early_exit_logits against Hugging Face's first layer, final norm
and head; speculative_generate with five drafters (a perfect one, a useless one, a random one,
your prompt lookup and your early exit), each run watched call by call: the greedy tokens of
Hugging Face's plain generate, token for token, each call given the unseen ids then the draft
with a cache cropped to the kept ids, each call's logits those of the model run without a cache,
one call per round, and the accepted counts (prompt lookup's equal to Hugging Face's); then
speculative sampling, checked statistically. Named mistakes are read from what the run gave the
model and the drafter (kit.py) and from the numbers the sampling functions return."""

import functools

import numpy as np

from checker.child.testkit import FAILED, attempt, expect, expect_close, fixture, note, once
from checker.models import llama
from checker.models.llama_kit import weights64

from . import kit

PERFECT_DRAFT = 4  # tokens the perfect drafter proposes
USELESS_TOKENS = 8  # new tokens in the runs whose rounds emit one token each (fewer calls)
RANDOM_TOKENS = 12
EARLY_TOKENS = 12  # the first rounds that accept drafted tokens come after 7 tokens


def _golden():
    return fixture("golden/step_23.npz")


def _config():
    return llama.Config.of(fixture("llama_config.json"))


def _prompt() -> list[int]:
    return _golden()["prompt_ids"].tolist()


def _greedy() -> list[int]:
    return _golden()["greedy_ids"].tolist()


# ---- the test's drafters: each knows the greedy continuation of the golden prompt ------------------

def _continuation(ids) -> int | None:
    """How many greedy tokens ids holds after the prompt (None: ids are not prompt + greedy)."""
    prompt, greedy = _prompt(), _greedy()
    n = len(ids) - len(prompt)
    return n if 0 <= n <= len(greedy) and ids == prompt + greedy[:n] else None


def perfect(_model):
    def draft(ids):
        n = _continuation(ids)
        return [] if n is None else _greedy()[n:n + PERFECT_DRAFT]
    return draft


def useless(_model):
    def draft(ids):  # three tokens, the first never the model's next
        n = _continuation(ids)
        wrong = (_greedy() + [0])[n or 0] + 1
        return [wrong, wrong, wrong]
    return draft


def random_drafter(_model):
    def draft(ids):  # up to 4 tokens, each the model's next with probability 0.6, by the context
        rng = np.random.default_rng(len(ids) * 7919 + sum(ids) % 1000)
        n = _continuation(ids) or 0
        truth = _greedy()[n:n + 4]
        return [t if rng.random() < 0.6 else int(rng.integers(100, 49000)) for t in truth]
    return draft


def lookup(learner):
    g = _golden()
    return lambda _model: functools.partial(learner.prompt_lookup, num_tokens=int(g["lookup_num_tokens"]),
                                            max_ngram_size=int(g["lookup_ngram"]))


def early(learner):
    layers = int(_golden()["early_exit_layers"])
    return lambda model: learner.EarlyExitDrafter(model, layers, num_tokens=3)


# ---- a run, judged -------------------------------------------------------------------------------

def _speculative(learner, key, make_drafter, max_new, eos=None, name="drafter"):
    what = f"speculative_generate(model, prompt, {max_new}, {name}" + (f", eos_token_id={eos})" if eos is not None else ")")
    return what, once(key, lambda: kit.run_speculative(learner, make_drafter, _prompt(), max_new, eos, what))


def _judge(what, run, max_new, eos=None) -> list | None:
    """Says what is wrong with the run; its accepted counts when nothing is."""
    if run is None:
        return None
    prompt, greedy = _prompt(), _greedy()
    problem = kit.expected_rounds(prompt, greedy, max_new, eos, run.rounds)
    if not expect(problem is None, f"{what}: {problem}"):
        return None
    if not _logits_match(what, run.rounds, prompt, greedy):
        return None
    if run.tokens is None:
        expect(False, run.problem)
        return None
    want = greedy[:max_new]
    if eos is not None and eos in want:
        want = want[:want.index(eos) + 1]
    if not expect(run.tokens == want, f"{what} returned {run.tokens}; plain greedy decoding (Hugging "
                                      f"Face's generate) gives {want}. Speculative decoding must not "
                                      "change a single token."):
        return None
    implied = kit.accepted_implied(prompt, greedy, max_new, eos, run.rounds)
    if not expect(run.accepted == implied, f"{what} returned accepted counts {run.accepted}; its "
                                           f"drafts and the model's tokens imply {implied} (one per "
                                           "round: how many drafted tokens each round kept)."):
        return None
    note(f"{len(run.rounds)} model calls for {len(run.tokens)} tokens; accepted {run.accepted}")
    return run.accepted


def _logits_match(what, rounds, prompt, greedy) -> bool:
    """Each call's logits against the model run without a cache on what the cache should hold and
    the ids the call was given: the cache after every crop is the one built without speculation."""
    weights, cfg = weights64(), _config()
    ids, emitted = list(prompt), 0
    for number, r in enumerate(rounds, start=1):
        cached = r.lengths[0] if r.lengths else 0
        if r.logits is None:
            return expect(False, f"{what}: call {number}'s logits could not be read.")
        want = llama.logits(np.array([ids[:cached] + r.fed]), weights, cfg)[0, cached:]
        if not expect_close(f"{what}: call {number}'s logits (the cache holding {cached} positions, "
                            f"{len(r.fed)} new ids) against the model run without a cache on the same "
                            "ids", r.logits.astype(np.float32), want.astype(np.float32), atol=kit.LOGITS_ATOL):
            expect(False, "The cache after a crop must hold exactly what a cache built without "
                          "speculation holds: the first max_length positions' keys AND values, in "
                          "every layer.")
            return False
        out = kit.kept(r.draft, greedy, emitted)
        ids += out
        emitted += len(out)
    return True


# ---- the cache, the drafters ---------------------------------------------------------------------

def test_crop(learner):
    """A cache of two layers holding 7 positions, cropped to 4: get_seq_length says 4 for each
    layer, and the next update of each returns the first 4 positions' keys and values, then the
    new ones (kata 19's update answers: the cache is not opened)."""
    from checker.child.testkit import tensor

    rng = np.random.default_rng(23)
    keys = [rng.standard_normal((1, 2, 7, 16)).astype(np.float32) for _ in range(2)]
    values = [rng.standard_normal((1, 2, 7, 16)).astype(np.float32) for _ in range(2)]
    new = rng.standard_normal((1, 2, 2, 16)).astype(np.float32)
    cache = attempt("KVCache()", learner.KVCache)
    if cache is FAILED:
        return
    for layer in range(2):
        if attempt("update", lambda layer=layer: cache.update(tensor(keys[layer]), tensor(values[layer]), layer)) is FAILED:
            return
    if attempt("cache.crop(4)", lambda: cache.crop(4)) is FAILED:
        return
    for layer in range(2):
        length = attempt(f"get_seq_length({layer})", lambda layer=layer: cache.get_seq_length(layer))
        if length is FAILED or not expect(int(length) == 4, f"after cache.crop(4), get_seq_length({layer}) "
                                                            f"is {length}; expected 4."):
            return
        out = attempt(f"update after crop(4), layer {layer}",
                      lambda layer=layer: cache.update(tensor(new), tensor(new), layer))
        if out is FAILED:
            return
        for name, got, old in (("keys", out[0], keys[layer]), ("values", out[1], values[layer])):
            want = np.concatenate([old[:, :, :4], new], axis=2)
            mistakes = {"crop keeps the LAST positions: keep the first max_length ([:, :, :max_length]).":
                        np.concatenate([old[:, :, -4:], new], axis=2),
                        "crop did nothing.": np.concatenate([old, new], axis=2)}
            if not expect_close(f"layer {layer}'s {name} after cache.crop(4) and one update of 2 positions",
                                np.asarray(got.to_numpy()), want, atol=0, rtol=0, mistakes=mistakes):
                return


def test_prompt_lookup(learner):
    """prompt_lookup on six contexts (the prompt and greedy tokens; n-grams of 1 to 3; 3 to 10
    tokens; one with no match) equals Hugging Face's PromptLookupCandidateGenerator."""
    g = _golden()
    sequence = _prompt() + _greedy()
    drafts = kit.split(g["lookup_case_drafts"], g["lookup_case_draft_lengths"])
    for length, num, ngram, want in zip(g["lookup_case_lengths"], g["lookup_case_num_tokens"],
                                        g["lookup_case_ngram"], drafts):
        what = f"prompt_lookup(ids of {int(length)} tokens, num_tokens={int(num)}, max_ngram_size={int(ngram)})"
        got = attempt(what, lambda: learner.prompt_lookup(sequence[:length], num_tokens=int(num),
                                                          max_ngram_size=int(ngram)))
        if got is FAILED:
            return
        try:
            got = [int(t) for t in got]
        except Exception:  # noqa: BLE001
            expect(False, f"{what} returned {got!r:.100}; expected a list of ints.")
            return
        if not expect(got == want, f"{what} returned {got}; Hugging Face's prompt lookup gives {want} "
                                   "(the first earlier match of the longest n-gram that has a "
                                   "continuation)."):
            return


def test_early_exit_logits(learner):
    """early_exit_logits(model, prompt, KVCache(), 1) equals Hugging Face's model with its first
    layer only, then the final norm and head: the 20 largest logits at every position, the last
    position in full."""
    from checker.child.testkit import ids_tensor
    from checker.course.kata19_kv_cache.kit import logits_of, model

    g = _golden()
    the_model = model(learner)
    if the_model is None:
        return
    layers = int(g["early_exit_layers"])
    what = f"early_exit_logits(model, prompt of {len(_prompt())} tokens, KVCache(), {layers})"
    value = attempt(what, lambda: learner.early_exit_logits(the_model, ids_tensor(np.array([_prompt()])),
                                                            learner.KVCache(), layers))
    if value is FAILED:
        return
    logits, problem = logits_of(value, what)
    if logits is None:
        expect(False, problem)
        return
    full = llama.logits(np.array([_prompt()]), weights64(), _config())[0]
    if expect_close(what + ": the 20 largest logits at every position",
                    np.take_along_axis(logits[0], g["early_top_ids"], axis=-1), g["early_top_logits"],
                    atol=kit.LOGITS_ATOL,
                    mistakes={"every layer ran (the full model's logits): stop after num_layers.":
                              np.take_along_axis(full, g["early_top_ids"], axis=-1)}):
        expect_close(what + ": the last position", logits[0, -1], g["early_last_logits"], atol=kit.LOGITS_ATOL)


# ---- speculative_generate: greedy tokens identical, whatever the drafter ---------------------------

def test_perfect_drafter(learner):
    """A drafter that proposes the next 4 greedy tokens: every round keeps all 4 and the bonus
    token, 24 tokens in 5 calls."""
    what, run = _speculative(learner, "perfect", perfect, 24, name="perfect drafter")
    _judge(what, run, 24)


def test_useless_drafter(learner):
    """A drafter whose first token is never the model's: one token per round, as plain decoding,
    the rejected drafts cropped from the cache every round."""
    what, run = _speculative(learner, "useless", useless, USELESS_TOKENS, name="useless drafter")
    _judge(what, run, USELESS_TOKENS)


def test_random_drafter(learner):
    """A drafter right 60% of the time, token by token: rounds that keep some drafts and reject
    the rest."""
    what, run = _speculative(learner, "random", random_drafter, RANDOM_TOKENS, name="random drafter")
    _judge(what, run, RANDOM_TOKENS)


def test_prompt_lookup_drafter(learner):
    """Your prompt_lookup (5 tokens, n-grams up to 2) as the drafter: the greedy tokens, and each
    round's accepted count equal to Hugging Face's generate(prompt_lookup_num_tokens=5)."""
    g = _golden()
    what, run = _speculative(learner, "lookup", lookup(learner), 24, name="prompt lookup")
    accepted = _judge(what, run, 24)
    if accepted is not None:
        want = g["lookup_accepted"].tolist()
        expect(accepted == want, f"{what}: accepted counts {accepted}; Hugging Face's prompt lookup "
                                 f"accepts {want} on the same prompt.")


def test_early_exit_drafter(learner):
    """Your EarlyExitDrafter (the first layer, 3 tokens a round) as the drafter: the greedy tokens."""
    what, run = _speculative(learner, "early", early(learner), EARLY_TOKENS, name="EarlyExitDrafter(model, 1, 3)")
    _judge(what, run, EARLY_TOKENS)


def test_eos_inside_a_draft(learner):
    """The perfect drafter with an end-of-sequence token that is the 6th greedy token, in the
    middle of the second round's draft: the run stops right after it."""
    eos = int(_golden()["eos_token_id"])
    what, run = _speculative(learner, "eos", perfect, 24, eos=eos, name="perfect drafter")
    _judge(what, run, 24, eos)


# ---- speculative sampling --------------------------------------------------------------------------

ACCEPT_TOKENS = ([2, 0], [0, 3], [3, 1])


def test_acceptance_probabilities(learner):
    """min(1, p/q) of each drafted token, for three drafts of two tokens (p/q above 1 among them)."""
    for tokens in ACCEPT_TOKENS:
        what = f"acceptance_probabilities({tokens}, draft_probs, target_probs)"
        got = attempt(what, lambda: learner.acceptance_probabilities(tokens, kit.SAMPLE_Q.copy(), kit.SAMPLE_P.copy()))
        if got is FAILED or not expect(got is not None, f"{what} returned None. Did you forget a `return` statement?"):
            return
        rows = np.arange(len(tokens))
        want = np.minimum(1.0, kit.SAMPLE_P[rows, tokens] / kit.SAMPLE_Q[rows, tokens])
        wrong = kit.no_min_acceptance(tokens, kit.SAMPLE_Q, kit.SAMPLE_P)
        if not expect_close(what, np.asarray(got, dtype=np.float64).reshape(-1), want, atol=1e-9,
                            mistakes={"the acceptance probability is p/q without the min: where the "
                                      "target likes a token more than the drafter (p > q) it is "
                                      "always accepted, probability 1, never above: min(1, p / q).": wrong}):
            return


def test_residual_distribution(learner):
    """max(0, p - q) normalised, for both drafted positions."""
    what = "residual_distribution(target_probs[:2], draft_probs)"
    got = attempt(what, lambda: learner.residual_distribution(kit.SAMPLE_P[:2].copy(), kit.SAMPLE_Q.copy()))
    if got is FAILED or not expect(got is not None, f"{what} returned None. Did you forget a `return` statement?"):
        return
    raw = kit.unnormalised_residual(kit.SAMPLE_P[:2], kit.SAMPLE_Q)
    expect_close(what, np.asarray(got, dtype=np.float64), raw / raw.sum(axis=-1, keepdims=True), atol=1e-9,
                 mistakes={"the residual distribution is not renormalised: max(0, p - q) sums to "
                           "less than 1; divide it by its sum before drawing from it.": raw})


# Statistical check. kit.SAMPLE_TRIALS = 20000 calls of speculative_sample, each with 2 drafted
# tokens that the test draws from the drafter's rows q (its own seeded generator). Leviathan et
# al.'s theorem: whatever generator the sampler uses, the token it emits at position j, among the
# calls that accepted every earlier drafted token, is distributed as the target's row p_j (the
# bonus position 2 included), independently across calls. Given how many calls reach position j
# (n_j), the Dvoretzky-Kiefer-Wolfowitz inequality (Massart's constant; conservative for discrete
# distributions) bounds the Kolmogorov-Smirnov distance D_j of those n_j tokens from p_j:
#     P(D_j > eps) <= 2 exp(-2 n_j eps^2) = SAMPLE_DELTA = 1e-7 with eps = kit.dkw_epsilon(n_j),
# (0.0205 at n_j = 20000). The number of tokens a call emits lies in [1, 3] with mean
# kit.expected_emitted() (1 + a_0 + a_0 a_1, a_j = sum min(p_j, q_j)); Hoeffding bounds the mean of
# 20000 of them: P(|mean - mu| > eps) <= 2 exp(-2 n eps^2 / 2^2) = 1e-7 with eps =
# kit.hoeffding_epsilon(n, 2) (0.041). Four checks (three positions and the mean): a correct
# sampler fails with probability below 4e-7, under one in a million. The deterministic checks (1
# to 3 tokens, the accepted ones equal to the drafts) cannot fail a correct sampler.
def test_speculative_sampling_follows_the_target(learner):
    from checker.child.learner_import import describe_exception, kata_files
    from checker.child.testkit import root

    q, p = kit.SAMPLE_Q, kit.SAMPLE_P
    draws = np.random.default_rng(kit.SAMPLE_SEED)
    np.random.seed(kit.SAMPLE_SEED)  # np.random users get reproducible draws
    rng = np.random.default_rng(kit.SAMPLE_SEED + 1)
    what = "speculative_sample(draft_tokens, draft_probs, target_probs, rng)"
    emitted = []
    for _ in range(kit.SAMPLE_TRIALS):
        tokens = [int(draws.choice(5, p=q[0])), int(draws.choice(5, p=q[1]))]
        try:
            out = [int(t) for t in learner.speculative_sample(tokens, q.copy(), p.copy(), rng)]
        except Exception as exc:  # noqa: BLE001
            message = f"{what} raised " + describe_exception(exc, kata_files(), root())
            if "sum to 1" in str(exc):
                message += (" This is what happens when the residual distribution is not "
                            "renormalised: divide max(0, p - q) by its sum.")
            if "p > 1" in str(exc) or "p < 0" in str(exc):
                message += " This is what happens when the acceptance probability is p/q without the min."
            expect(False, message)
            return
        if not expect(1 <= len(out) <= 3 and out[:-1] == tokens[:len(out) - 1] and all(0 <= t < 5 for t in out),
                      f"{what} with drafted tokens {tokens} returned {out}; expected the accepted "
                      "drafted tokens in order, then one more token: 1 to 3 ids below 5."):
            return
        emitted.append(out)
    lengths = np.array([len(out) for out in emitted])
    mean, mu = lengths.mean(), kit.expected_emitted()
    bound = kit.hoeffding_epsilon(len(lengths), 2)
    if not expect(abs(mean - mu) <= bound,
                  f"{what} emitted {mean:.3f} tokens per call on average; speculative sampling "
                  f"emits {mu:.3f} (allowed {bound:.3f}): each drafted token is accepted with "
                  "probability min(1, p/q), no more, no less."):
        return
    for position in range(3):
        tokens = np.array([out[position] for out in emitted if len(out) > position])
        eps = kit.dkw_epsilon(len(tokens))
        distance = kit.cdf_distance(tokens, p[position])
        if not expect(distance <= eps, f"{what}: the {len(tokens)} tokens emitted at position "
                                       f"{position} do not follow the target's distribution "
                                       f"{p[position].tolist()} (Kolmogorov-Smirnov distance "
                                       f"{distance:.3f}, allowed {eps:.3f}; a correct sampler "
                                       f"exceeds it with probability below {kit.SAMPLE_DELTA:.0e}). "
                                       f"Observed: {np.round(np.bincount(tokens, minlength=5) / len(tokens), 3).tolist()}."):
            return
    note(f"{kit.SAMPLE_TRIALS} calls, {mean:.3f} tokens per call (expected {mu:.3f})")
