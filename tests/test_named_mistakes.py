"""Each known mistake, made in an otherwise correct reference solution, is named in the
checker's message; the untouched reference never gets such a message (it passes)."""

from pathlib import Path

import pytest

from checker.curriculum import load_curriculum
from checker.check.runner import run_kata
from conftest import mutate

ROOT = Path(__file__).resolve().parents[1]

# (kata, text in the reference solution, the mistaken text, words the checker must say);
# several replacements are given as tuples.
MISTAKES = [
    (3, "epsilon=self.eps", "epsilon=1e-30", "eps is not used"),
    (3, "gamma=self.weight,", "gamma=self.weight * 0 + 1,", "the weight does not scale"),
    (7, "return F.softmax(scores + mask)", "return F.softmax(scores + mask, axis=-2)",
     "softmax runs over the wrong axis"),
    (7, "return self.c_proj(self.merge_heads(attn_output))",
     "return self.merge_heads(attn_output) @ self.c_proj.weight + self.c_proj.bias",
     "c_proj's weight is used untransposed"),
    (9, ("self.attn(self.ln_1(hidden_states))", "self.mlp(self.ln_2(hidden_states))"),
     ("self.attn(self.ln_2(hidden_states))", "self.mlp(self.ln_1(hidden_states))"),
     "ln_1 and ln_2 are swapped"),
    (10, "hidden_states = self.h(hidden_states)", "hidden_states = self.h[0](hidden_states)",
     "only one block runs"),
    (11, "return self.lm_head(hidden_states)",
     "return __import__('max.experimental.functional').experimental.functional.logsoftmax("
     "self.lm_head(hidden_states))", "log-probabilities"),
    (2, "future = key.reshape([1, total]) > query.reshape([sequence_length, 1])",
     "future = key.reshape([1, total]) > query.reshape([sequence_length, 1]) + 1",
     "one diagonal too wide"),
    (3, "beta=self.bias,", "beta=self.bias * 0,", "the bias is not added"),
    (5, "return self.wte(input_ids)", "return self.wte(input_ids + 1)", "off by one"),
    (6, "return self.wpe(positions)", "return self.wpe(positions + 1)", "positions start at 1"),
    (8, "return apply_residual_connection(x, self.sublayer(self.ln(x)))",
     "return self.sublayer(self.ln(x))", "the residual is missing"),
    (8, "return apply_residual_connection(x, self.sublayer(self.ln(x)))",
     "return apply_residual_connection(x, self.sublayer(x))", "the sublayer receives x itself"),
    (4, 'hidden_states = F.gelu(hidden_states, approximate="tanh")', "pass",
     "no activation is applied"),
    (4, 'approximate="tanh"', 'approximate="none"', "GELU is the exact (erf) form"),
    (5, "return self.wte(input_ids)", "return self.wte(input_ids * 0)", "every token gets token 0"),
    (6, "return self.wpe(positions)", "return self.wpe(positions * 0)", "every position gets row 0"),
    (8, "return apply_residual_connection(x, self.sublayer(self.ln(x)))",
     "return self.ln(apply_residual_connection(x, self.sublayer(x)))", "post-norm"),
    (10, "return self.ln_f(hidden_states)", "return hidden_states", "ln_f is not applied"),
    (10, "pos_embeds = self.wpe(positions)", "pos_embeds = self.wpe(positions + 1)",
     "positions start at 1"),
    (11, "return self.lm_head(hidden_states)",
     "return __import__('max.experimental.functional').experimental.functional.softmax("
     "self.lm_head(hidden_states))", "returns probabilities"),
]


@pytest.mark.parametrize("number,right,wrong,words", MISTAKES,
                         ids=[f"kata{m[0]}-{m[3].split()[-1]}" for m in MISTAKES])
def test_mistake_is_named(tmp_path, solutions, number, right, wrong, words):
    curriculum = load_curriculum(ROOT)
    kata = curriculum.get(number)
    pairs = list(zip(right, wrong)) if isinstance(right, tuple) else [(right, wrong)]
    learner = mutate(number, pairs, tmp_path)
    result = run_kata(curriculum, kata, learner_file=learner, deps_dir=solutions)
    assert result.status == "fail", result.message
    messages = "\n".join(t["message"] or "" for t in result.tests)
    assert words in messages, messages
    # named on every failing comparison it explains, not only on the first
    unnamed = [t["name"] for t in result.tests if t["status"] == "fail"
               and "values differ" in (t["message"] or "") and words not in t["message"]]
    assert not unnamed, "\n".join(t["message"] or "" for t in result.tests)
