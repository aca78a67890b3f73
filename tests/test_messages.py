"""Messages the checker writes, in their words: each one a learner met and could not use as it
was (issue items on wording). Cheap: no MAX, no model run."""

from __future__ import annotations

import pytest

# MAX 26.7's own text for scores (1, 4, 3, 5) + a mask (3, 3), as eager MAX raises it.
MAX_BROADCAST = (
    "Failed to create op 'AddOp':\nInputs:\n"
    "    input_x = TensorValue(dtype=float32, shape=[Dim(1), Dim(4), Dim(3), Dim(5)], device=cpu:0)\n"
    "    input_y = TensorValue(dtype=float32, shape=[Dim(3), Dim(3)], device=cpu:0)\n\n"
    "Diagnostics:\n    Input lhs (shape [1, 4, 3, 5]) dimension at axis 3 (value 5) and input rhs "
    "(shape [3, 3]) dimension at axis 1 (value 3) are neither equivalent nor broadcastable. Insert "
    "an explicit rebind if these dims will be equivalent at runtime.\n"
    "Failed to infer result type(s) for 'rmo.add'")


def _raised(message: str) -> BaseException:
    try:
        raise ValueError(message)
    except ValueError as exc:
        return exc


def test_max_rebind_advice_is_said_in_the_learners_terms():
    """MAX's "Insert an explicit rebind ..." is never shown as if it were advice: everywhere it
    says what it means (the sizes differ, a tensor has the wrong shape), and kata 19, where a mask
    without the offset causes it, names the mask."""
    from checker.child.learner_import import MAX_REBIND_ADVICE, REBIND_MEANS, describe_exception
    from checker.course.kata19_kv_cache import kit

    assert MAX_REBIND_ADVICE in MAX_BROADCAST
    text = describe_exception(_raised(MAX_BROADCAST), set())
    assert "Insert an explicit rebind" not in text
    assert "are neither equivalent nor broadcastable. " + REBIND_MEANS + "\n" in text, text
    assert describe_exception(_raised(MAX_BROADCAST), set(), rebind_means="").count(
        "broadcastable.\n") == 1

    said = kit.failure("CachedLlamaForCausalLM(ids, cache) (call 6: 4 new tokens, 17 cached)",
                       _raised(MAX_BROADCAST))
    assert said.startswith("CachedLlamaForCausalLM(ids, cache) (call 6: 4 new tokens, 17 cached) "
                           "raised ValueError: Failed to create op 'AddOp'")
    assert "Insert an explicit rebind" not in said
    assert ("(MAX's advice to insert a rebind does not apply: these sizes really differ. With a "
            "cache, a call's scores are (new tokens, cached + new tokens): whatever is added to "
            "them, the causal mask first, must have that shape: causal_mask(seq, start).)") in said

    other = describe_exception(_raised("shapes differ"), set())
    assert other == "ValueError: shapes differ"
