"""Kata 17: LlamaDecoderLayer, LlamaModel and LlamaForCausalLM match Hugging Face's on the tiny
Llama: layer 0 (and its halfway point), the final hidden states, the logits, and the greedy
continuation of a real prompt, token for token."""

import numpy as np

from checker.models import llama
from checker.models.llama_kit import llama_module, tiny_config, weights64
from checker.child.testkit import expect, expect_close, fixture, ids_tensor, once, run, tensor

LAYER = "model.layers.0."
LOGITS_ATOL = 1e-3  # logits sum 64 products of unit-scale values: float32 rounding reaches 1e-4


def _golden():
    return fixture("golden/step_17.npz")


def _config():
    return llama.Config.of(fixture("llama_config.json"))


def _layer(learner):
    config = tiny_config()
    return once("layer", lambda: llama_module("LlamaDecoderLayer(config)",
                                              lambda: learner.LlamaDecoderLayer(config), LAYER))


def _model(learner):
    config = tiny_config()
    return once("model", lambda: llama_module("LlamaForCausalLM(config)",
                                              lambda: learner.LlamaForCausalLM(config), ""))


def _layer_mistakes(x) -> dict:
    wrong = lambda **flag: llama.decoder_layer(x.astype(np.float64), weights64(), LAYER, _config(), **flag)  # noqa: E731
    return {"the norms come after the additions (post-norm). Llama is pre-norm: "
            "h = x + self_attn(input_layernorm(x)); out = h + mlp(post_attention_layernorm(h)).":
            wrong(post_norm=True)}


def test_decoder_layer(learner):
    g = _golden()
    layer = _layer(learner)
    if layer is None:
        return
    out = run("LlamaDecoderLayer(x)", lambda: layer(tensor(g["layer_x"])))
    expect_close("LlamaDecoderLayer(x)", out, g["layer_out"], mistakes=_layer_mistakes(g["layer_x"]))


def test_decoder_layer_halfway(learner):
    """x + self_attn(input_layernorm(x)), from the layer's own parts."""
    g = _golden()
    layer = _layer(learner)
    if layer is None:
        return
    x = tensor(g["layer_x"])
    out = run("x + self_attn(input_layernorm(x))",
              lambda: x + layer.self_attn(layer.input_layernorm(x)))
    expect_close("the halfway point x + self_attn(input_layernorm(x))", out, g["layer_after_attn"])


def test_parameter_names(learner):
    """model.embed_tokens, model.layers.N.*, model.norm and lm_head, by Hugging Face's names:
    the weights load (a mismatch is said by name when loading; the head may share the
    embedding's tensor)."""
    _model(learner)


def test_final_hidden_states(learner):
    g = _golden()
    config = tiny_config()
    base = once("base", lambda: llama_module("LlamaModel(config)", lambda: learner.LlamaModel(config),
                                             "model."))
    if base is None:
        return
    out = run("LlamaModel(ids)", lambda: base(ids_tensor(g["ids"])))
    wrong = lambda **flag: llama.model(g["ids"], weights64(), _config(), **flag)  # noqa: E731
    expect_close("LlamaModel(ids) (after the final norm)", out, g["out"], mistakes={
        "the final norm is missing: apply self.norm after the last layer.": wrong(final_norm_missing=True),
        "the norms come after the additions (post-norm): Llama is pre-norm.": wrong(post_norm=True),
    })


def _top(logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.take_along_axis(logits, ids, axis=-1)


def test_logits(learner):
    g = _golden()
    model = _model(learner)
    if model is None:
        return
    out = run("LlamaForCausalLM(ids)", lambda: model(ids_tensor(g["ids"])))
    if out is None:
        return
    seq, vocab = g["ids"].shape[1], g["last_logits"].shape[0]
    if not expect(out.shape == (1, seq, vocab), f"LlamaForCausalLM(ids) has shape {out.shape}; "
                                                f"expected (batch, seq, vocab_size) = {(1, seq, vocab)}."):
        return
    wrong = llama.logits(g["ids"], weights64(), _config(), final_norm_missing=True)[0, -1]
    expect_close("the last position's logits", out[0, -1], g["last_logits"], atol=LOGITS_ATOL,
                 mistakes={"the final norm is missing: apply self.norm after the last layer.": wrong})
    expect_close("every position's 20 largest logits", _top(out[0], g["top_ids"]), g["top_logits"],
                 atol=LOGITS_ATOL)


def test_greedy_continuation(learner):
    """12 tokens, each the argmax of your model's last logits, as Hugging Face's generate."""
    g = _golden()
    model = _model(learner)
    if model is None:
        return
    ids, want = g["prompt_ids"], g["greedy_ids"]
    for step in range(want.shape[1] - ids.shape[1]):
        logits = run(f"LlamaForCausalLM(ids) at greedy step {step + 1}", lambda: model(ids_tensor(ids)))
        if logits is None:
            return
        last = logits[0, -1]
        if not expect_close(f"logits at greedy step {step + 1} (the 20 largest)",
                            _top(last, g["greedy_top_ids"][step]), g["greedy_top_logits"][step],
                            atol=LOGITS_ATOL):
            return
        token = int(np.argmax(last))
        expected = int(want[0, ids.shape[1]])
        if token != expected and last[expected] < last.max() - LOGITS_ATOL:
            expect(False, f"greedy token {step + 1} is {token}; Hugging Face's is {expected}.")
            return
        ids = np.concatenate([ids, [[expected]]], axis=1)  # Hugging Face's token: a tie goes on
