"""Part 2 (katas 13-18, the Llama family): answers written another way pass; every named mistake
fails, by its name. Each learner file replaces katas/step_NN.py of the real course (its fixtures
and hidden tests), the earlier katas it imports coming from the reference solutions, as
`kata dev verify` does. Mistakes are one-line changes of a reference solution (MUTANTS); the
correct files in tests/learners/ are written differently from the reference throughout.

Kata 18 reads SmolLM2's GGUF file (fetched once into the model cache, as `kata setup` does)."""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path

import pytest

import bothways
from checker.check.runner import JUDGING, run_kata
from checker.curriculum import load_curriculum
from conftest import LEARNERS, REPO, mutate


CORRECT = ["step_13_builtin_rms_norm.py", "step_13_sqrt_divide.py", "step_14_broadcast.py",
           "step_14_numpy_tables.py", "step_15_per_group.py", "step_15_tile_unsqueeze.py",
           # F.repeat_interleave: correct, but MAX's interpreter refuses it, so the checker compiles
           # its graphs (minutes): it must still pass
           "step_15_repeat_interleave.py",
           "step_16_matmul_exp.py", "step_16_sigmoid.py", "step_17_sequential.py",
           "step_17_untied_head.py", "step_18_index_unpermute.py", "step_18_reshape_transpose.py"]

RMS_RETURN = "return x * F.rsqrt(mean_square + self.eps) * self.weight"
ANGLES = "angles = F.concat([angles, angles], axis=-1)"
SCALED = "scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)"
SILU = "return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))"
LAYER = ("hidden_states = hidden_states + self.self_attn(self.input_layernorm(hidden_states))\n"
         "        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))")

# file name -> (kata, [(old, new), ...], what the check must say)
MUTANTS = {
    "step_13_mean_subtracted.py": (13, [("mean_square = (x * x).mean(axis=-1)",
                                         "x = x - x.mean(axis=-1)\n        mean_square = (x * x).mean(axis=-1)")],
                                   "the mean is subtracted first"),
    "step_13_eps_outside_root.py": (13, [(RMS_RETURN, "return x / (F.sqrt(mean_square) + self.eps) * self.weight")],
                                    "eps is added outside the square root"),
    "step_13_one_plus_weight.py": (13, [(RMS_RETURN, "return x * F.rsqrt(mean_square + self.eps) * (1 + self.weight)")],
                                   r"scaled by \(1 \+ weight\)"),
    "step_13_default_eps.py": (13, [("eps: float = 1e-5) -> None", "eps: float = 1e-6) -> None")],
                               "the default eps is not 1e-5"),
    "step_14_theta_ignored.py": (14, [("inv_freq = 1.0 / (theta ** exponents)", "inv_freq = 1.0 / (10000.0 ** exponents)")],
                                 "theta is ignored"),
    "step_14_start_ignored.py": (14, [("F.range(start, start + seq_len, 1,", "F.range(0, seq_len, 1,")],
                                 "the start offset is ignored"),
    "step_14_freq_over_head_dim.py": (14, [("Tensor.arange(0, head_dim, 2, dtype=DType.float32) / head_dim",
                                            "Tensor.arange(0, head_dim // 2, dtype=DType.float32) / head_dim")],
                                      "the frequencies use i / head_dim"),
    "step_14_interleaved.py": (14, [("x1, x2 = F.chunk(x, 2, axis=-1)\n    return F.concat([-x2, x1], axis=-1)",
                                     "pairs = x.reshape([*x.shape[:-1], x.shape[-1] // 2, 2])\n"
                                     "    x1, x2 = pairs[..., 0], pairs[..., 1]\n"
                                     "    return F.stack([-x2, x1], axis=-1).reshape(x.shape)")],
                               "pairs are rotated interleaved"),
    "step_15_tiled.py": (15, [("x = x.reshape([batch, n_kv, 1, seq, head_dim])",
                               "x = x.reshape([batch, 1, n_kv, seq, head_dim])"),
                              ("x = F.broadcast_to(x, [batch, n_kv, n_rep, seq, head_dim])",
                               "x = F.broadcast_to(x, [batch, n_rep, n_kv, seq, head_dim])")],
                         "repeated in the wrong order"),
    "step_15_no_rope_on_k.py": (15, [("k = apply_rotary(k, cos, sin)\n", "")],
                                "RoPE is applied to the queries but not to the keys"),
    "step_15_no_scale.py": (15, [(SCALED, "scores = q @ k.transpose(-1, -2)")],
                            r"not divided by sqrt\(head_dim\)"),
    "step_15_no_mask.py": (15, [("        scores = scores + causal_mask(seq, 0, dtype=scores.dtype, device=scores.device)\n", "")],
                           "causal mask is not applied"),
    "step_16_gate_up_swapped.py": (16, [(SILU, "return self.down_proj(F.silu(self.up_proj(x)) * self.gate_proj(x))")],
                                   "gate_proj and up_proj are swapped"),
    "step_16_gelu.py": (16, [(SILU, "return self.down_proj(F.gelu(self.gate_proj(x)) * self.up_proj(x))")],
                        "GELU is used instead of SiLU"),
    "step_17_post_norm.py": (17, [(LAYER, "hidden_states = self.input_layernorm(hidden_states + self.self_attn(hidden_states))\n"
                                          "        return self.post_attention_layernorm(hidden_states + self.mlp(hidden_states))")],
                             "post-norm"),
    "step_17_no_final_norm.py": (17, [("return self.norm(hidden_states)", "return hidden_states")],
                                 "the final norm is missing"),
    "step_18_not_unpermuted.py": (18, [("weights = unpermute(weights, config.num_attention_heads)", "pass"),
                                       ("weights = unpermute(weights, config.num_key_value_heads)", "pass")],
                                  "not un-permuted"),
    "step_18_q_with_kv_heads.py": (18, [("weights = unpermute(weights, config.num_attention_heads)",
                                         "weights = unpermute(weights, config.num_key_value_heads)")],
                                   "un-permuted with 3 heads; it has 9"),
    "step_18_transposed.py": (18, [("state[name] = weights\n", "state[name] = weights.T if weights.ndim == 2 else weights\n")],
                              "it is transposed"),
}


def _learner_file(learner: str) -> Path:
    if learner not in MUTANTS:
        return LEARNERS / learner
    number, replacements, _ = MUTANTS[learner]
    return mutate(number, replacements, Path(tempfile.mkdtemp(prefix="kata-mutant-")))


@functools.lru_cache(maxsize=None)
def _check(learner: str):
    return bothways.check(int(learner.split("_")[1]), _learner_file(learner))


@pytest.mark.parametrize("learner", CORRECT, ids=[c[:-3] for c in CORRECT])
def test_correct_but_different_passes(learner):
    result = _check(learner)
    bothways.assert_passes(result)


@pytest.mark.parametrize("learner", sorted(MUTANTS), ids=[m[:-3] for m in sorted(MUTANTS)])
def test_mistake_fails_by_name(learner):
    result = _check(learner)
    bothways.assert_fails_by_name(result, MUTANTS[learner][2])


def test_not_unpermuted_reads_once_and_in_words():
    """Q and K not un-permuted (the same check as its line above, cached): the tensors' line
    names the mistake once, after the numbers; the answer's line shows the tokens as text beside
    their ids (the real model ends its turn at once: token 2, "<|im_end|>", for Hugging Face's
    504, "The")."""
    result = _check("step_18_not_unpermuted.py")
    messages = {t["name"]: t.get("message") or "" for t in result.tests}
    tensors = messages["test_tensors_match_hf"]
    assert tensors.count("Q and K are not un-permuted") == 1, tensors
    assert tensors.endswith(".swapaxes(1, 2)."), tensors
    assert "yours" in tensors and "); model.layers." in tensors, tensors
    answer = messages["test_chat_answer"]
    assert re.search(r"answer token \d+ is \d+ \('.*'\); Hugging Face's is \d+ \('.*'\)", answer), answer
    # as katas/step_18.md quotes it (tests/test_lesson_claims.py holds the lesson to these words)
    assert answer.startswith("answer token 1 is 2 ('<|im_end|>'); Hugging Face's is 504 ('The')"), answer


def test_kata_18_says_each_step_while_it_runs():
    """Kata 18's check takes seconds of reading and 30-layer forwards: its live line says each step
    as it begins (tests/test_steps.py holds how they are shown), in order, the parent's own
    judgement of the fresh inputs last when it lasts a second."""
    curriculum = load_curriculum(REPO)
    kata = curriculum.get(18)
    events = []
    result = run_kata(curriculum, kata, learner_file=REPO / kata.solution, deps_dir=bothways.solutions(),
                      on_event=lambda kind, text: events.append((kind, text)))
    bothways.assert_passes(result)
    steps = [text for kind, text in events if kind == "step"]
    assert steps[:7] == [
        "reading the file's configuration with your config_from_gguf ...",
        "reading SmolLM2's file with your load_gguf ...",
        "comparing your 273 tensors with Hugging Face's ...",
        "building your kata 17 LlamaForCausalLM with the weights your load_gguf read ...",
        "your model's logits on a 12-token sentence ...",
        "your model's answer to 'What is the capital of France?', token by token ...",
        "your model on token ids made up for this check ...",
    ], steps
    assert steps[7:] in ([], [f"{JUDGING} ..."]), steps
    assert any(kind == "step again" for kind, _ in events), events  # the seconds count on the live line
