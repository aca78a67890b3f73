"""Kata 19 (the KV cache): answers written another way pass; every named mistake fails, by its
name. As tests/test_part2_katas.py: each learner file replaces katas/step_19.py of the real
course, katas 2-17 coming from the reference solutions; mistakes are small changes of kata 19's
reference solution (MUTANTS) or learner files written that way (LEARNER_MISTAKES: raw keys
rotated on every read, in a model composed instead of inherited, gives the right logits but not
the cache's contract); the correct files in tests/learners/ are written differently from it
throughout (a dict cache, per-layer lists of chunks, preallocated numpy buffers written in place,
the start and rotary tables computed once in the model and passed down, update called with
keywords, generate with MAX or numpy ids)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

import bothways
from conftest import LEARNERS, mutate

KATA = 19

CORRECT = ["step_19_dict_cache.py", "step_19_chunk_lists.py", "step_19_positions_in_model.py",
           "step_19_preallocated.py"]

# learner file in tests/learners/ -> what the check must say (the right logits, the wrong cache)
LEARNER_MISTAKES = {
    "step_19_rotate_on_read.py": r"keys cached before RoPE \(rotated on every read\)",
}

ROPE = "cos, sin = rotary_tables(self.head_dim, seq, theta=self.rope_theta, start=start)"
ROTATE_K = "        k = apply_rotary(k, cos, sin)  # rotated by its own position, once, before it is cached\n"
UPDATE = "            k, v = cache.update(k, v, layer_idx)  # now every position so far: start + seq\n"
GUARDED_UPDATE = "        if cache is not None:\n" + UPDATE
REPEAT_V = "        v = repeat_kv(v, n_rep)\n"
MASK = "scores = scores + causal_mask(seq, start, dtype=scores.dtype, device=scores.device)"
STORED = ("            self.keys[layer_idx] = F.concat([self.keys[layer_idx], key_states], axis=2)\n"
          "            self.values[layer_idx] = F.concat([self.values[layer_idx], value_states], axis=2)\n")
RETURN = "        return self.keys[layer_idx], self.values[layer_idx]\n"
START = "start = cache.get_seq_length(layer_idx) if cache is not None else 0"
NEXT_IDS = "        ids = Tensor(np.array([[token]], dtype=np.int64))\n"
WHOLE = ("        ids = Tensor(np.array([list(np.asarray(input_ids).reshape(-1)) + new_tokens], "
         "dtype=np.int64))\n")

# file name -> [(old, new), ...] and what the check must say
MUTANTS = {
    "step_19_positions_restart.py": ([(ROPE, ROPE.replace(", start=start", ""))],
                                     "positions restart at 0"),
    "step_19_mask_without_offset.py": ([(MASK, MASK.replace("(seq, start,", "(seq, 0,"))],
                                       "a causal mask without the offset does"),
    "step_19_mask_from_the_left.py": ([(MASK, "scores = scores + F.band_part(F.broadcast_to(Tensor("
                                              "float('-inf'), dtype=scores.dtype, device=scores.device),"
                                              " shape=(seq, start + seq)), num_lower=None, num_upper=0,"
                                              " exclude=True)")],
                                      "the causal mask has no offset"),
    "step_19_mask_only_at_first.py": ([(MASK, "if start == 0:\n            " + MASK)],
                                      "the causal mask is left out once the cache holds tokens"),
    "step_19_never_appended.py": ([(STORED + RETURN,
                                    "            return (F.concat([self.keys[layer_idx], key_states], axis=2),\n"
                                    "                    F.concat([self.values[layer_idx], value_states], axis=2))\n"
                                    + RETURN)],
                                  "never appended"),
    "step_19_returns_new_only.py": ([(RETURN, "        return key_states, value_states\n")],
                                    "update returns only the new keys"),
    "step_19_new_first.py": ([(STORED, STORED.replace("[self.keys[layer_idx], key_states]",
                                                      "[key_states, self.keys[layer_idx]]")
                               .replace("[self.values[layer_idx], value_states]",
                                        "[value_states, self.values[layer_idx]]"))],
                             "put before the cached ones"),
    "step_19_keys_before_rope.py": ([(ROTATE_K, ""), (UPDATE, UPDATE + "        k = apply_rotary(k, cos, sin)\n")],
                                    "keys are cached before RoPE"),
    # the right logits, the wrong cache: (batch, num_attention_heads, ...) held
    "step_19_repeated_heads_cached.py": ([(GUARDED_UPDATE, ""), (REPEAT_V, REPEAT_V + GUARDED_UPDATE)],
                                         r"repeated kv heads cached \(repeat_kv before the cache\)"),
    "step_19_values_rotated.py": ([(ROTATE_K, ROTATE_K + "        v = apply_rotary(v, cos, sin)\n")],
                                  "values are rotated by RoPE"),
    "step_19_shared_between_layers.py": ([("        if layer_idx >= len(self.keys):",
                                           "        layer_idx = 0\n        if layer_idx >= len(self.keys):"),
                                          ("        if layer_idx == len(self.keys):  # the first",
                                           "        layer_idx = 0\n        if layer_idx == len(self.keys):  # the first")],
                                         "shared by all layers"),
    "step_19_start_from_layer0.py": ([(START, START.replace("(layer_idx)", "()")),
                                      (MASK, MASK.replace("(seq, start,", "(seq, int(k.shape[2]) - int(seq),"))],
                                     "from layer 0's cache"),
    # only the fresh inputs, always a batch of 2, show it
    "step_19_batch_of_one.py": ([("    batch, seq = x.shape[0], x.shape[1]\n    return x.reshape([batch,",
                                  "    batch, seq = 1, x.shape[1]\n    return x.reshape([batch,")],
                                "a batch of 2"),
    "step_19_generate_without_cache.py": ([("logits = model(ids, cache)", "logits = model(ids)"), (NEXT_IDS, WHOLE)],
                                          "without a cache"),
    "step_19_generate_whole_sequence.py": ([(NEXT_IDS, WHOLE)], r"each step gives only the token chosen last"),
    "step_19_generate_new_cache.py": ([("    cache = KVCache()\n", ""),
                                       ("        logits = model(ids, cache)", "        cache = KVCache()\n"
                                                                            "        logits = model(ids, cache)")],
                                      "another cache object"),
    "step_19_generate_ignores_eos.py": ([("        if token == eos_token_id:\n            break\n", "")],
                                        "stop right after the end-of-sequence token"),
    "step_19_generate_returns_prompt.py": ([("    return new_tokens\n",
                                             "    return list(np.asarray(input_ids).reshape(-1)) + new_tokens\n")],
                                           "returned the prompt too"),
}


def _learner_file(learner: str) -> Path:
    if learner not in MUTANTS:  # CORRECT or LEARNER_MISTAKES
        return LEARNERS / learner
    replacements, _ = MUTANTS[learner]
    return mutate(KATA, replacements, Path(tempfile.mkdtemp(prefix="kata-mutant-")))


@functools.lru_cache(maxsize=None)
def _check(learner: str):
    return bothways.check(KATA, _learner_file(learner))


@pytest.mark.parametrize("learner", CORRECT, ids=[c[:-3] for c in CORRECT])
def test_correct_but_different_passes(learner):
    result = _check(learner)
    bothways.assert_passes(result)
    assert result.fresh_judgement == "agreed", bothways.describe(result)


MISTAKES = {**{name: said for name, (_, said) in MUTANTS.items()}, **LEARNER_MISTAKES}


@pytest.mark.parametrize("learner", sorted(MISTAKES), ids=[m[:-3] for m in sorted(MISTAKES)])
def test_mistake_fails_by_name(learner):
    result = _check(learner)
    bothways.assert_fails_by_name(result, MISTAKES[learner])
    assert "Traceback" not in bothways.describe(result)


@pytest.mark.parametrize("learner", ["step_19_rotate_on_read.py", "step_19_repeated_heads_cached.py"])
def test_a_cache_held_another_way_fails_only_its_contract(learner):
    """Keys before RoPE rotated on every read, or repeated heads cached, give the right logits on
    every call of the run and in generate: only the lines that read the cache's contents fail,
    each by the mistake's name."""
    result = _check(learner)
    failed = {t["name"] for t in result.tests if t["status"] != "pass"}
    assert failed == {"test_cache_contents_after_prefill", "test_decode_from_hugging_face_keys"}, \
        bothways.describe(result)
    for test in result.tests:
        if test["status"] != "pass":
            bothways.assert_fails_by_name(result, MISTAKES[learner], test["message"])
