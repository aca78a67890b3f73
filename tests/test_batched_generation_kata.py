"""Kata 22 (batched generation): answers written another way pass; every named mistake fails, by
its name; the numpy reference the checker uses at check time (checker/models/llama.py,
padded_logits, position_ids_from, left_pad, greedy_alone) is Hugging Face's on the golden data,
and the golden data hold what the kata promises (Hugging Face's batch equals each row alone).

As tests/test_kv_cache_kata.py: each learner file replaces katas/step_22.py of the real course,
katas 2-19 coming from the reference solutions; mistakes are small changes of kata 22's reference
solution (MUTANTS); the correct files in tests/learners/ are written differently from it."""

from __future__ import annotations


import numpy as np
import pytest

import bothways
from checker import fixture_files
from checker.models import llama, llama_data
from conftest import REPO

KATA = 22
FIXTURES = REPO / "fixtures"

CORRECT = ["step_22_additive_mask.py", "step_22_numpy_tables.py"]

PAD_LEFT = ("        input_ids[row, longest - len(prompt):] = prompt\n"
            "        attention_mask[row, longest - len(prompt):] = 1\n")
POSITIONS = "    return np.where(attention_mask == 0, 0, np.cumsum(attention_mask, axis=-1) - 1)\n"
HIDE_PADS = "        scores = F.where(real, scores, hidden)\n"
REAL = "        real = attention_mask.reshape([batch, 1, 1, total]) == 1\n"
HIDDEN = "hidden = Tensor(float(np.finfo(np.float32).min),"
ALL_DONE = "        if finished.all():\n"
FINISHED = "                finished[row] = int(chosen[row]) == eos_token_id\n"
NEW_COLUMN = "np.concatenate([attention_mask, np.ones((batch, 1), dtype=np.int64)], axis=1)"
ROW_BY_ROW = '''

def generate_batch(model, prompts, max_new_tokens, pad_token_id, eos_token_id=None):
    """Each prompt on its own: one cache and one call per row per step."""
    rows = []
    for prompt in prompts:
        cache, ids, tokens = KVCache(), np.array([prompt], dtype=np.int64), []
        mask = np.ones_like(ids)
        positions = position_ids_from(mask)
        for _ in range(max_new_tokens):
            logits = model(Tensor(ids), cache, attention_mask=Tensor(mask),
                           position_ids=Tensor(positions))
            token = int(np.argmax(logits.to_numpy()[0, -1]))
            tokens.append(token)
            if token == eos_token_id:
                break
            ids = np.array([[token]], dtype=np.int64)
            mask = np.concatenate([mask, np.ones((1, 1), dtype=np.int64)], axis=1)
            positions = positions[:, -1:] + 1
        rows.append(tokens)
    return rows
'''

# file name -> [(old, new), ...] and what the check must say
MUTANTS = {
    "step_22_right_padding.py": ([(PAD_LEFT, PAD_LEFT.replace("longest - len(prompt):", ":len(prompt)"))],
                                 r"right padding"),
    "step_22_positions_not_shifted.py": (
        [(POSITIONS, "    return np.broadcast_to(np.arange(attention_mask.shape[1]), "
                     "attention_mask.shape).copy()\n")],
        "positions are not shifted for padded rows"),
    "step_22_pad_keys_attended.py": ([(HIDE_PADS, "")], "pad keys are attended"),
    "step_22_mask_of_longest_row.py": ([(REAL, "        real = F.max(attention_mask, axis=0)"
                                               ".reshape([1, 1, 1, total]) == 1\n")],
                                       "longest row only"),
    "step_22_pads_hidden_with_minus_inf.py": ([(HIDDEN, "hidden = Tensor(float('-inf'),")],
                                              "softmax gives NaN"),
    "step_22_finished_row_stops_the_batch.py": ([(ALL_DONE, "        if finished.any():\n")],
                                                "A finished row stopped the batch"),
    "step_22_finished_row_corrupts.py": ([(NEW_COLUMN, NEW_COLUMN.replace(
        "np.ones((batch, 1), dtype=np.int64)",
        "np.full((batch, 1), 0 if finished.any() else 1, dtype=np.int64)"))],
        "A finished row corrupts its neighbours"),
    "step_22_ignores_eos.py": ([(FINISHED, "")], "went on after its end-of-sequence token"),
    "step_22_row_by_row.py": ([("    return new_tokens\n", "    return new_tokens\n" + ROW_BY_ROW)],
                              r"one call for the whole batch"),
}


_check, (test_the_reference_solution_passes, test_the_skeleton_fails,
         test_correct_but_different_passes,
         test_mistake_fails_by_name) = bothways.kata_tests(KATA, CORRECT, MUTANTS)


def test_unshifted_positions_fail_only_the_position_lines():
    """RoPE sees only distances: unshifted positions give the right logits and tokens, so only the
    lines that read the positions the code computes fail (the lesson says why)."""
    result = _check("step_22_positions_not_shifted.py")
    failed = {t["name"] for t in result.tests if t["status"] != "pass"}
    assert failed == {"test_position_ids", "test_one_forward_per_step"}, bothways.describe(result)


# ---- the numpy reference and the golden data, against Hugging Face ------------------------------

def _golden() -> dict:
    return fixture_files.load(FIXTURES, "golden/step_22.npz")


def _prompts(g) -> list[np.ndarray]:
    return np.split(g["prompt_ids"], np.cumsum(g["prompt_lengths"])[:-1])


def test_golden_batch_is_left_padded_as_the_reference_pads():
    g = _golden()
    ids, mask = llama.left_pad([p.tolist() for p in _prompts(g)], int(g["pad_token_id"]))
    assert np.array_equal(ids, g["input_ids"]) and np.array_equal(mask, g["attention_mask"])
    assert np.array_equal(llama.position_ids_from(mask), g["position_ids"])  # generate's, recorded
    assert len(set(g["prompt_lengths"].tolist())) == 3 and mask[:, 0].sum() == 1, \
        "three lengths; only the longest row is unpadded"


def test_numpy_padded_batch_is_hugging_faces():
    """The padded prompt at every real position, and every step of generate (the whole sequence at
    once: a cache changes no logit), within 1e-4 of Hugging Face's."""
    g = _golden()
    fx = llama_data.Fixtures(FIXTURES)
    mine = llama.padded_logits(g["input_ids"], g["attention_mask"], fx.weights, fx.config)
    real = g["attention_mask"] == 1
    top = np.take_along_axis(mine, g["prefill_top_ids"], axis=-1)
    assert np.abs(top - g["prefill_top_logits"])[real].max() < 1e-4
    assert np.abs(mine[:, -1] - g["prefill_last_logits"]).max() < 1e-4
    whole = np.concatenate([g["input_ids"], g["new_ids"]], axis=1)
    grown = np.concatenate([g["attention_mask"], np.ones_like(g["new_ids"])], axis=1)
    prompt = g["input_ids"].shape[1]
    steps = llama.padded_logits(whole, grown, fx.weights, fx.config)[:, prompt - 1:prompt - 1 + g["new_ids"].shape[1]]
    for row, n in enumerate(g["new_lengths"]):
        got = np.take_along_axis(steps[row, :n], g["step_top_ids"][row, :n], axis=-1)
        assert np.abs(got - g["step_top_logits"][row, :n]).max() < 1e-4, row


def test_hugging_faces_batch_is_each_row_alone():
    """What the kata promises and the fresh judge relies on: the batch's logits at real tokens and
    its tokens are each prompt's alone (Hugging Face's, recorded by the builder), and the numpy
    Llama's greedy run of each prompt alone gives the same tokens, stopping at the eos token."""
    g = _golden()
    fx = llama_data.Fixtures(FIXTURES)
    real = g["attention_mask"] == 1
    assert np.abs(g["alone_prefill_top_logits"] - g["prefill_top_logits"])[real].max() < 1e-4
    assert (g["alone_prefill_top_logits"][~real] == 0).all()  # padding: nothing to compare
    eos = int(g["eos_token_id"])
    for row, prompt in enumerate(_prompts(g)):
        n = int(g["new_lengths"][row])
        assert np.abs(g["alone_step_top_logits"][row, :n] - g["step_top_logits"][row, :n]).max() < 1e-4
        assert llama.greedy_alone(prompt, g["new_ids"].shape[1], fx.weights, fx.config, eos) \
            == g["new_ids"][row, :n].tolist()
    assert sorted(g["new_lengths"].tolist()) == [3, 8, 8] and g["new_ids"][2, 2] == eos


def test_named_model_mistakes_are_far_from_the_answer():
    """Pad keys attended (and the mask of the longest row) move the padded rows' logits far past
    the tolerance; unshifted positions do not move them at all (RoPE sees only distances), which
    is why that mistake is named from the positions the code computes."""
    g = _golden()
    fx = llama_data.Fixtures(FIXTURES)
    right = llama.padded_logits(g["input_ids"], g["attention_mask"], fx.weights, fx.config)
    real = g["attention_mask"] == 1
    for flag in ("batch_pad_keys_attended", "batch_mask_longest_row"):
        wrong = llama.padded_logits(g["input_ids"], g["attention_mask"], fx.weights, fx.config, **{flag: True})
        assert np.abs(wrong - right)[real].max() > 1.0, flag
    # the lesson's number: the prompts and the generated tokens, unshifted against shifted
    whole = np.concatenate([g["input_ids"], g["new_ids"]], axis=1)
    grown = np.concatenate([g["attention_mask"], np.ones_like(g["new_ids"])], axis=1)
    shifted = llama.padded_logits(whole, grown, fx.weights, fx.config)
    same = llama.padded_logits(whole, grown, fx.weights, fx.config, batch_positions_not_shifted=True)
    assert np.abs(same - shifted)[grown == 1].max() < 5e-14  # step_22.md: 2.5e-14


# ---- the parent's judgement of the fresh inputs (numpy only) ------------------------------------

def _spec():
    return bothways.spec_of(KATA)


def _fresh(seed: int):
    """Fresh inputs, and the outputs a correct learner's code gives on them (the numpy Llama's)."""
    spec = _spec()
    inputs = spec.draw(np.random.default_rng(seed), FIXTURES)
    fx = llama_data.Fixtures(FIXTURES)
    ids, mask, _ = spec.batch_of(inputs)
    whole = np.concatenate([ids, inputs["next_ids"]], axis=1)
    grown = np.concatenate([mask, np.ones_like(inputs["next_ids"])], axis=1)
    logits = llama.padded_logits(whole, grown, fx.weights, fx.config)[..., inputs["columns"]]
    rows = [llama.greedy_alone(p, spec.MAX_NEW, fx.weights, fx.config, int(inputs["eos"]))
            for p in spec.split(inputs["gen_ids"], inputs["gen_lengths"])]
    return inputs, {"logits": logits.astype(np.float32),
                    "generated": np.array([t for r in rows for t in r], dtype=np.int64),
                    "generated_lengths": np.array([len(r) for r in rows], dtype=np.int64)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fresh_right_answers_pass_and_the_eos_stops_a_row(seed):
    inputs, outputs = _fresh(seed)
    assert _spec().judge(inputs, outputs, FIXTURES) is None
    assert len(set(inputs["lengths"].tolist())) == 3 and len(set(inputs["gen_lengths"].tolist())) == 3
    assert outputs["generated_lengths"][0] == _spec().EOS_AT + 1  # the first row stops early


def test_fresh_wrong_answers_fail():
    inputs, outputs = _fresh(0)
    spec = _spec()
    real_row = int(np.argmin(inputs["lengths"]))  # a padded row: its last column is real
    wrong = dict(outputs, logits=outputs["logits"].copy())
    wrong["logits"][real_row, -1, 0] += 0.1
    assert "row" in spec.judge(inputs, wrong, FIXTURES)
    assert spec.judge(inputs, dict(outputs, logits=outputs["logits"].astype(np.float64)), FIXTURES)
    ids, mask, _ = spec.batch_of(inputs)  # the batch's logits with pad keys attended
    whole = np.concatenate([ids, inputs["next_ids"]], axis=1)
    grown = np.concatenate([mask, np.ones_like(inputs["next_ids"])], axis=1)
    fx = llama_data.Fixtures(FIXTURES)
    attended = llama.padded_logits(whole, grown, fx.weights, fx.config, batch_pad_keys_attended=True)
    assert spec.judge(inputs, dict(outputs, logits=attended[..., inputs["columns"]].astype(np.float32)), FIXTURES)
    # a first row that goes on past its end-of-sequence token, or stops the batch with it
    lengths, flat = outputs["generated_lengths"], outputs["generated"]
    first = flat[:lengths[0]].tolist()
    longer = dict(outputs, generated=np.concatenate([[*first, first[-1]], flat[lengths[0]:]]).astype(np.int64),
                  generated_lengths=lengths + np.array([1, 0, 0]))
    assert "stop" in spec.judge(inputs, longer, FIXTURES)
    cut = np.minimum(lengths, lengths[0])
    stopped = dict(outputs, generated=np.concatenate(
        [r[:n] for r, n in zip(spec.split(flat, lengths), cut)]).astype(np.int64), generated_lengths=cut)
    assert "stop" in spec.judge(inputs, stopped, FIXTURES)
    assert spec.judge(inputs, {}, FIXTURES) == "no logits came back"
