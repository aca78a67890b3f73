"""Kata 1: GPT2Config's defaults equal GPT-2 small's configuration as transformers defines it."""

import dataclasses

from checker.child.testkit import expect, fixture

FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")


def _golden():
    return fixture("golden/step_01.json")


def test_is_a_dataclass(learner):
    expect(hasattr(learner, "GPT2Config"), "katas/step_01.py must define a class named GPT2Config.")
    if hasattr(learner, "GPT2Config"):
        expect(dataclasses.is_dataclass(learner.GPT2Config),
               "GPT2Config should be a @dataclass, so later katas can build it with keywords.")


def test_defaults_are_gpt2_small(learner):
    golden = _golden()
    config = learner.GPT2Config()
    for field in FIELDS:
        value = getattr(config, field, "<missing>")
        if value is None or value == "<missing>":
            expect(False, f"{field} is {'missing' if value == '<missing>' else 'None'}; "
                          f"GPT-2 small's value is needed there.")
        elif field == "layer_norm_epsilon":
            expect(isinstance(value, (int, float)) and abs(value - golden[field]) <= 1e-12,
                   f"layer_norm_epsilon is {value!r}; Hugging Face's GPT-2 uses a much smaller "
                   "value (it only keeps layer norm from dividing by zero).")
        else:
            expect(value == golden[field] and not isinstance(value, bool),
                   f"{field} is {value!r}, but GPT-2 small has a different value. "
                   "Check the table in katas/step_01.md.")


def test_mlp_width(learner):
    config = learner.GPT2Config()
    golden = _golden()
    n_inner = getattr(config, "n_inner", None)
    # transformers says None, meaning 4 * n_embd; writing 3072 out is equally right.
    expect(n_inner is None or n_inner == 4 * golden["n_embd"],
           f"n_inner is {n_inner!r}: it should be None (meaning 4 * n_embd) or 4 * n_embd.")


def test_accepts_a_smaller_model(learner):
    """Later katas build the course's tiny GPT-2 from the same class."""
    tiny = _golden()["tiny"]
    try:
        config = learner.GPT2Config(**tiny)
    except TypeError as exc:
        expect(False, f"GPT2Config({', '.join(f'{k}=...' for k in tiny)}) failed: {exc}. "
                      "Every field must be settable by keyword.")
        return
    for field, value in tiny.items():
        expect(getattr(config, field, None) == value,
               f"GPT2Config({field}={value!r}) did not keep {field}: got "
               f"{getattr(config, field, None)!r}.")
