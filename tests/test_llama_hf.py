"""Hugging Face's SmolLM2 from the real GGUF (checker/models/llama_hf.py): the numpy Llama
reference computes its logits, its fingerprints tell a right state dict from the loader mistakes
kata 18 names, and its greedy chat answer is the one the course promises. Slow (loading and
de-quantizing takes tens of seconds on 2 cores); the file comes from ensure_gguf."""

from __future__ import annotations

import json

import numpy as np
import pytest

from checker.models import llama as L

pytest.importorskip("torch", reason="the Hugging Face reference needs the maintainer extra")
pytest.importorskip("transformers", reason="the Hugging Face reference needs the maintainer extra")
pytest.importorskip("accelerate", reason="transformers' GGUF loader needs accelerate")

LOGITS_TOL = 1e-4


@pytest.fixture(scope="module")
def hf():
    from checker.models import llama_hf

    model = llama_hf.load_model(echo=lambda _: None)
    tok = llama_hf.load_tokenizer(echo=lambda _: None)
    return model, tok


@pytest.fixture(scope="module")
def state(hf):
    from checker.models import llama_hf

    return llama_hf.numpy_state_dict_from_hf(hf[0])


@pytest.fixture(scope="module")
def records(hf):
    from checker.models import llama_hf

    return llama_hf.real_fixtures(*hf)


def test_config(hf):
    from checker.models import llama_hf

    cfg = llama_hf.config_dict(hf[0])
    assert cfg == {"hidden_size": 576, "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
                   "rms_norm_eps": pytest.approx(1e-5, rel=1e-6), "rope_theta": 100000.0,
                   "num_hidden_layers": 30, "intermediate_size": 1536, "vocab_size": 49152,
                   "tie_word_embeddings": True}


def test_state_dict_names(state):
    per_layer = ["input_layernorm.weight", "mlp.down_proj.weight", "mlp.gate_proj.weight",
                 "mlp.up_proj.weight", "post_attention_layernorm.weight", "self_attn.k_proj.weight",
                 "self_attn.o_proj.weight", "self_attn.q_proj.weight", "self_attn.v_proj.weight"]
    expected = {f"model.layers.{i}.{p}" for i in range(30) for p in per_layer}
    expected |= {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}
    assert set(state) == expected
    assert state["model.layers.0.self_attn.k_proj.weight"].shape == (192, 576)
    assert np.array_equal(state["lm_head.weight"], state["model.embed_tokens.weight"])
    assert all(a.dtype == np.float32 for a in state.values())


def test_numpy_reference_equals_hugging_face_on_smollm2(hf, state, records):
    """The float64 numpy Llama with HF's own weights gives HF's logits on a real prompt."""
    import torch

    from checker.models import llama_hf

    model, tok = hf
    record = records["smollm2/logits.npz"]["npz"]
    ids = record["ids"]
    with torch.no_grad():
        theirs = model(torch.tensor(ids)).logits[0].numpy()
    ours = L.logits(ids, L.as_float64(state), llama_hf.config_dict(model))[0]
    d = float(np.abs(ours - theirs).max())
    print(f"  SmolLM2, {ids.shape[1]} tokens: max |numpy - HF| logits = {d:.2e} (values up to {np.abs(theirs).max():.3g})")
    assert d <= LOGITS_TOL
    assert np.array_equal(record["last_logits"], theirs[-1].astype(np.float32))
    assert np.array_equal(np.take_along_axis(theirs, record["top_ids"], -1), record["top_logits"])
    assert record["top_ids"].shape == (ids.shape[1], llama_hf.TOP_K)
    assert record["last_logits"].nbytes + record["top_ids"].nbytes + record["top_logits"].nbytes < 300_000


def _gguf_state(path) -> dict:
    """A few tensors read straight from the GGUF with the gguf package, un-permuted with the
    formula of ../shared/LLAMA-NOTES.md: what a right kata 18 loader produces."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(path))
    raw = {t.name: dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
           for t in reader.tensors if t.name.startswith(("blk.0.attn", "token_embd"))}

    def unpermute(w, n):
        rows, cols = w.shape
        return w.reshape(n, rows // n // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)

    return {"q": raw["blk.0.attn_q.weight"], "k": raw["blk.0.attn_k.weight"],
            "model.layers.0.self_attn.q_proj.weight": unpermute(raw["blk.0.attn_q.weight"], 9),
            "model.layers.0.self_attn.k_proj.weight": unpermute(raw["blk.0.attn_k.weight"], 3),
            "model.layers.0.self_attn.v_proj.weight": raw["blk.0.attn_v.weight"],
            "model.embed_tokens.weight": raw["token_embd.weight"]}


def test_fingerprints_accept_a_right_loader_and_refuse_the_named_mistakes(state, records):
    """Sums alone cannot see a row permutation or a square transpose: the sampled values do."""
    with pytest.raises(ValueError):  # the other head-count mix-up fails loudly on SmolLM2's shapes
        np.zeros((192, 576)).reshape(9, 192 // 9 // 2, 2, 576)
    from checker.models import llama_hf
    from checker.models.smollm2 import ensure_gguf

    prints = records["smollm2/fingerprints.json"]["json"]["tensors"]
    assert prints == json.loads(json.dumps(prints))  # JSON keeps every number exactly
    assert set(prints) == set(state)
    ours = _gguf_state(ensure_gguf(echo=lambda _: None))
    for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                 "model.layers.0.self_attn.v_proj.weight", "model.embed_tokens.weight"):
        assert llama_hf.fingerprint(name, ours[name]) == prints[name], name
    q_name, k_name = "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight"

    def unpermute(w, n):
        rows, cols = w.shape
        return w.reshape(n, rows // n // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)

    mistakes = {"Q not un-permuted": (q_name, ours["q"]), "K not un-permuted": (k_name, ours["k"]),
                # K with the query head count (9) cannot even reshape (192 rows): an error, not numbers
                "Q un-permuted with the kv head count": (q_name, unpermute(ours["q"], 3)),
                "transposed q_proj": (q_name, ours[q_name].T)}
    for label, (name, wrong) in mistakes.items():
        got, right = llama_hf.fingerprint(name, wrong), prints[name]
        moved = sum(a != b for a, b in zip(got["values"], right["values"]))
        shift = abs(got["weighted_sum"] - right["weighted_sum"]) / abs(right["weighted_sum"])
        print(f"  {label}: sum and sum_sq {'equal' if got['sum_sq'] == right['sum_sq'] else 'differ'}, "
              f"weighted sum off by {shift:.2g} (relative), {moved} of {len(right['values'])} samples differ")
        assert shift > 1e-4 and moved >= 1, label


def test_greedy_chat_answer(records):
    answer = records["smollm2/chat.json"]["json"]
    assert answer["answer_text"] == "The capital of France is Paris."
    assert answer["ends_with_eos"] and answer["answer_ids"][-1] == 2
    assert answer["prompt"].endswith("<|im_start|>assistant\n")
    json.dumps(answer)


def test_recorded_files_are_small(records, tmp_path):
    total = 0
    for name, content in records.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if "json" in content:
            path.write_text(json.dumps(content["json"], indent=1, sort_keys=True))
        else:
            with open(path, "wb") as handle:
                np.savez(handle, **content["npz"])
        print(f"  {name}: {path.stat().st_size / 1000:.0f} KB")
        total += path.stat().st_size
    assert total < 600_000
