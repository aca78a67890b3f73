"""Kata 1's golden data, from Hugging Face's GPT-2 (maintainers only: `kata dev fixtures`)."""


FAMILY = "gpt2"  # the model family whose model and tokenizer the builder is given


def golden_config(model, tok) -> dict:
    """Kata 1: GPT-2 small's configuration exactly as transformers defines it."""
    from transformers import GPT2Config

    ref = GPT2Config()
    return {
        "json": {
            "vocab_size": ref.vocab_size, "n_positions": ref.n_positions, "n_embd": ref.n_embd,
            "n_layer": ref.n_layer, "n_head": ref.n_head, "n_inner": ref.n_inner,
            "layer_norm_epsilon": ref.layer_norm_epsilon,
            "tiny": {k: getattr(model.config, k) for k in
                     ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")},
        }
    }


# fixture file (relative to fixtures/) -> the function that makes its content
FIXTURES = {"golden/step_01.json": golden_config}
