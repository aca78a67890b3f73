"""Kata 17: the Llama model.

Your RMSNorm, attention and MLP stacked into decoder layers, with token embeddings below and a
language-model head on top. Read katas/step_17.md, then run `kata check 17`.
"""

from max.experimental.nn import Embedding, Linear, Module, ModuleList  # noqa: F401 - all needed
from max.experimental.tensor import Tensor

from katas.step_13 import LlamaConfig, RMSNorm  # noqa: F401 - you will need RMSNorm
from katas.step_15 import LlamaAttention  # noqa: F401 - you will need it
from katas.step_16 import LlamaMLP  # noqa: F401 - you will need it


class LlamaDecoderLayer(Module):
    """x + self_attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x))."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        # TODO: create input_layernorm, self_attn, post_attention_layernorm and mlp (the
        # norms with eps=config.rms_norm_eps). These names matter.

    def forward(self, hidden_states: Tensor) -> Tensor:
        # TODO: the two pre-norm residual steps.
        return None


class LlamaModel(Module):
    """Token embeddings, num_hidden_layers decoder layers, a final RMSNorm."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        # TODO: create embed_tokens (vocab_size -> hidden_size), layers (num_hidden_layers
        # LlamaDecoderLayers, numbered 0, 1, ...) and norm.

    def forward(self, input_ids: Tensor) -> Tensor:
        """(batch, seq) int64 token ids -> (batch, seq, hidden_size), after the final norm."""
        # TODO
        return None


class LlamaForCausalLM(Module):
    """LlamaModel followed by a bias-free projection to vocabulary logits."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        # TODO: create `model` (your LlamaModel) and `lm_head` (hidden_size -> vocab_size, no
        # bias). With config.tie_word_embeddings, lm_head uses the embedding matrix.

    def forward(self, input_ids: Tensor) -> Tensor:
        """(batch, seq) int64 token ids -> (batch, seq, vocab_size) logits."""
        # TODO
        return None
