"""Kata 18: load_gguf and config_from_gguf read SmolLM2-135M-Instruct's GGUF file exactly as
Hugging Face's GGUF loader does (every tensor, by name), and your katas 13-17 with those weights
give Hugging Face's logits and its greedy answer to "What is the capital of France?".

The file is read once per check with your code (kit.py), and your model runs three times: on the
golden sentence, on the chat question with Hugging Face's answer, and on the fresh inputs."""

import numpy as np

from checker.models import smollm2_weights
from checker.models.llama_kit import SMOLLM2_135M
from checker.child.testkit import (FAILED, expect, expect_close, fixture, ids_tensor, note, run, step,
                                   weights_of)

from .kit import (answer_token_message, decoder, learner_config, learner_model, learner_state, sums,
                  tensors_message)

LOGITS_ATOL = 1e-3  # a correct float32 forward of the 30 layers is within 1e-4 (LLAMA-NOTES.md)


def _reference():
    return fixture("golden/step_18.json")


def test_config_from_gguf(learner):
    config = learner_config(learner)
    if config is FAILED:
        return
    for field, want in SMOLLM2_135M.items():
        got = getattr(config, field, None)
        if isinstance(want, bool):
            ok = got == want
        else:  # the file stores eps as float32: 9.9999997e-06 is 1e-5
            ok = isinstance(got, (int, float)) and not isinstance(got, bool) and \
                np.isclose(got, want, rtol=1e-6, atol=0)
        expect(ok, f"config_from_gguf(path).{field} is {got!r}; the file says {want!r}.")


def test_every_tensor_by_name(learner):
    state = learner_state(learner)
    if state is None:
        return
    want = _reference()["fingerprints"]
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    expect(not missing and not extra, "load_gguf's names are not Hugging Face's. "
           + (f"Missing: {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}. " if missing else "")
           + (f"Not Hugging Face's: {', '.join(extra[:6])}{' ...' if len(extra) > 6 else ''}." if extra else "")
           + (" The tied head: add lm_head.weight, the same matrix as model.embed_tokens.weight."
              if missing == ["lm_head.weight"] else ""))
    for name in sorted(set(want) & set(state)):
        array = state[name]
        shape = tuple(want[name]["shape"])
        if not isinstance(array, np.ndarray):
            expect(False, f"{name} is a {type(array).__name__}; load_gguf returns numpy arrays.")
        elif array.shape != shape:
            expect(False, f"{name} has shape {array.shape}; Hugging Face's is {shape}"
                   + (": it is transposed. Torch's and MAX's Linear store [out, in], as the "
                      "file's rows are read." if array.shape == shape[::-1] else "."))
        elif array.dtype != np.float32:
            expect(False, f"{name} is {array.dtype}; dequantize to float32.")


def _row_maps(rows: int, heads: int, kv_heads: int, name: str) -> dict:
    """For q/k weights: what common mistakes put in each row (row i holds Hugging Face's row m[i])."""
    index = np.arange(rows)[:, None]
    own = heads if "q_proj" in name else kv_heads
    other = kv_heads if own == heads else heads
    maps = {"Q and K are not un-permuted: llama.cpp stores each head's rows interleaved for its "
            "RoPE. Undo it: w.reshape(heads, rows // heads // 2, 2, cols).swapaxes(1, 2).":
            smollm2_weights.permute(index, own)[:, 0]}
    if rows % (2 * other) == 0:
        wrong = smollm2_weights.unpermute(smollm2_weights.permute(index, own), other)[:, 0]
        maps[f"{name.split('.')[-2]} is un-permuted with {other} heads; it has {own} "
             "(q_proj: num_attention_heads, k_proj: num_key_value_heads)."] = wrong
    return maps


def _mistake(array: np.ndarray, name: str, print_: dict, config: dict) -> str:
    if array.ndim != 2 or not name.endswith(("q_proj.weight", "k_proj.weight")):
        return ""
    rows, cols = array.shape
    flat = np.array(print_["index"])
    r, c = flat // cols, flat % cols
    for advice, row_of in _row_maps(rows, config["num_attention_heads"], config["num_key_value_heads"],
                                    name).items():
        where = np.argsort(row_of)  # the learner's row that holds Hugging Face's row r
        if np.allclose(array[where[r], c], print_["values"], rtol=1e-6, atol=1e-7):
            return advice
    return ""


def test_tensors_match_hf(learner):
    state = learner_state(learner)
    if state is None:
        return
    reference = _reference()
    wrong = []
    with step(f"comparing your {len(state)} tensors with Hugging Face's"):
        for name, want in reference["fingerprints"].items():
            array = state.get(name)
            if not isinstance(array, np.ndarray) or array.shape != tuple(want["shape"]):
                continue  # said by test_every_tensor_by_name
            values = array.reshape(-1)[want["index"]].astype(np.float64)
            total, squares, weighted = sums(array)
            same = np.allclose(values, want["values"], rtol=1e-6, atol=1e-7) and \
                np.isclose(total, want["sum"], rtol=1e-5, atol=1e-3) and \
                np.isclose(squares, want["sum_sq"], rtol=1e-5, atol=1e-3) and \
                np.isclose(weighted, want["weighted_sum"], rtol=1e-5, atol=1e-3)
            if not same:
                wrong.append((name, f"at flat index {want['index'][0]} Hugging Face has "
                                    f"{want['values'][0]:.6g}, yours {values[0]:.6g}",
                              _mistake(array, name, want, reference["config"])))
    expect(not wrong, tensors_message(wrong))


def test_logits_match_hf(learner):
    g = fixture("golden/step_18.npz")
    model = learner_model(learner)
    if model is None:
        return
    with step(f"your model's logits on a {g['ids'].shape[1]}-token sentence"):
        out = run("LlamaForCausalLM(ids) with SmolLM2's weights", lambda: model(ids_tensor(g["ids"])),
                  sources=weights_of(model))
    if out is None:
        return
    if not expect(out.shape == (1, g["ids"].shape[1], g["last_logits"].shape[0]),
                  f"the logits have shape {out.shape}; expected (1, seq, vocab_size)."):
        return
    expect_close("the last position's logits with SmolLM2's weights", out[0, -1], g["last_logits"],
                 atol=LOGITS_ATOL)
    expect_close("every position's 20 largest logits", np.take_along_axis(out[0], g["top_ids"], -1),
                 g["top_logits"], atol=LOGITS_ATOL)


def test_chat_answer(learner):
    """Greedy, token by token, the answer Hugging Face gives in SmolLM2's chat template: at each
    step your model's most likely next token, on the question and Hugging Face's answer so far,
    must be Hugging Face's (or tie with it).

    One call of your model on the question and the whole answer gives every step's logits: your
    model is causal, so its logits at a position are those of a call on the tokens up to it
    (test_logits_match_hf holds every position's 20 largest logits to Hugging Face's), and the 8 calls of a
    generation loop would give the same numbers, 8 times slower."""
    chat = _reference()["chat"]
    model = learner_model(learner)
    if model is None:
        return
    prompt, answer = chat["prompt_ids"], chat["answer_ids"]
    ids = np.array([prompt + answer[:-1]], dtype=np.int64)
    with step(f"your model's answer to {chat['question']!r}, token by token"):
        logits = run("your model on the question and Hugging Face's answer",
                     lambda: model(ids_tensor(ids)), sources=weights_of(model))
    if logits is None:
        return
    if not expect(logits.shape[:2] == ids.shape, f"the logits have shape {logits.shape}; expected "
                                                 f"(1, {ids.shape[1]}, vocab_size)."):
        return
    for at, expected in enumerate(answer):
        last = logits[0, len(prompt) - 1 + at]  # the logits for the token after the first len(prompt) + at
        token = int(np.argmax(last))
        if token != expected and last[expected] < last.max() - LOGITS_ATOL:
            expect(False, answer_token_message(at + 1, token, expected, chat["answer_text"],
                                               decoder()))
            return
    note(f"Your Llama, with SmolLM2's weights, answers {chat['question']!r}: {chat['answer_text']!r}")
