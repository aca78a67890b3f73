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


UNPERMUTED = ("Q and K are not un-permuted: llama.cpp stores each head's rows interleaved for its "
              "RoPE. Undo it: w.reshape(heads, rows // heads // 2, 2, cols).swapaxes(1, 2).")


def test_kata18_tensors_message_names_a_mistake_once():
    """60 q/k tensors not un-permuted: four shown with their numbers, each in its own
    parentheses, then the mistake said once (it was said after each of the four, run into the
    numbers)."""
    from checker.course.kata18_real_weights.kit import tensors_message

    wrong = [(f"model.layers.{i // 2}.self_attn.{'qk'[i % 2]}_proj.weight",
              f"at flat index 7 Hugging Face has 0.0{i + 1}, yours -0.0{i + 1}", UNPERMUTED)
             for i in range(60)]
    assert tensors_message(wrong) == (
        "60 tensors differ from Hugging Face's: "
        "model.layers.0.self_attn.q_proj.weight (at flat index 7 Hugging Face has 0.01, yours -0.01); "
        "model.layers.0.self_attn.k_proj.weight (at flat index 7 Hugging Face has 0.02, yours -0.02); "
        "model.layers.1.self_attn.q_proj.weight (at flat index 7 Hugging Face has 0.03, yours -0.03); "
        "model.layers.1.self_attn.k_proj.weight (at flat index 7 Hugging Face has 0.04, yours -0.04); "
        "and 56 more. " + UNPERMUTED)
    one = tensors_message([("model.norm.weight", "at flat index 3 Hugging Face has 1, yours 2", "")])
    assert one == ("1 tensor differs from Hugging Face's: model.norm.weight (at flat index 3 "
                   "Hugging Face has 1, yours 2).")


def test_kata18_answer_token_shows_ids_and_text():
    """The chat answer's line shows the tokens as text beside their ids (2 alone said nothing:
    it is the end of the turn)."""
    from checker.course.kata18_real_weights.kit import answer_token_message

    words = {2: "<|im_end|>", 504: "The"}
    said = answer_token_message(1, 2, 504, "The capital of France is Paris.",
                                lambda ids: "".join(words[i] for i in ids))
    assert said == ("answer token 1 is 2 ('<|im_end|>'); Hugging Face's is 504 ('The') "
                    "(its answer: 'The capital of France is Paris.').")
    assert answer_token_message(1, 2, 504, "x", None) == \
        "answer token 1 is 2; Hugging Face's is 504 (its answer: 'x')."


def test_kata18_answer_token_text_is_the_files_own(tmp_path):
    """The words come from the GGUF file's tokenizer: 2 is the end of the turn, 504 "The"."""
    from checker.models.llama_tokenizer import GGUFTokenizer
    from checker.models.smollm2 import SPEC, cache_dir

    path = cache_dir() / SPEC.filename
    if not path.is_file():
        pytest.skip("SmolLM2's GGUF file is not in the model cache (kata setup fetches it)")
    from checker.course.kata18_real_weights.kit import token_text

    decode = GGUFTokenizer.from_gguf(path).decode
    assert (token_text(decode, 2), token_text(decode, 504)) == ("'<|im_end|>'", "'The'")


def test_kata18_sums_are_the_fingerprints_sums():
    """The hidden test sums each tensor a chunk at a time (kit.sums, no float64 copy of the
    embedding): the fingerprint's own three sums, for sizes below, at and past a chunk."""
    import numpy as np

    from checker.course.kata18_real_weights.kit import CHUNK, sums
    from checker.models.llama_hf import fingerprint

    rng = np.random.default_rng(0)
    for size in (5, 1000, 331_776, CHUNK, 2 * CHUNK + 577):
        array = rng.normal(size=size).astype(np.float32)
        want = fingerprint("blk.0.attn_q.weight", array)
        got = sums(array.reshape(-1, size // 5 if size % 5 == 0 else 1))
        assert np.allclose(got, (want["sum"], want["sum_sq"], want["weighted_sum"]), rtol=1e-12, atol=1e-9)
