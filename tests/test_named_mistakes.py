"""Each known mistake, made in an otherwise correct reference solution, is named in the
checker's message; the untouched reference never gets such a message (it passes)."""

from pathlib import Path

import pytest

from checker.curriculum import load_curriculum
from checker.runner import run_kata

ROOT = Path(__file__).resolve().parents[1]

# (kata, text in the reference solution, the mistaken text, words the checker must say)
MISTAKES = [
    (2, "num_upper=num_tokens,", "num_upper=num_tokens + 1,", "one diagonal too wide"),
    (3, "beta=self.bias,", "beta=self.bias * 0,", "the bias is not added"),
    (5, "return self.wte(input_ids)", "return self.wte(input_ids + 1)", "off by one"),
    (6, "return self.wpe(positions)", "return self.wpe(positions + 1)", "positions start at 1"),
    (8, "return apply_residual_connection(x, self.sublayer(self.ln(x)))",
     "return self.sublayer(self.ln(x))", "the residual is missing"),
    (8, "return apply_residual_connection(x, self.sublayer(self.ln(x)))",
     "return apply_residual_connection(x, self.sublayer(x))", "the sublayer receives x itself"),
    (4, 'hidden_states = F.gelu(hidden_states, approximate="tanh")', "pass",
     "no activation is applied"),
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
def test_mistake_is_named(tmp_path, number, right, wrong, words):
    curriculum = load_curriculum(ROOT)
    kata = curriculum.get(number)
    source = (ROOT / kata.solution).read_text()
    assert right in source, "the reference solution changed: update this table"
    learner = tmp_path / f"step_{number:02d}.py"
    learner.write_text(source.replace(right, wrong))
    result = run_kata(curriculum, kata, learner_file=learner, deps_dir=ROOT / "checker" / "solutions")
    assert result.status == "fail", result.message
    messages = "\n".join(t["message"] or "" for t in result.tests)
    assert words in messages, messages
