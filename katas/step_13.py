"""Kata 13: the Llama configuration and RMSNorm.

Part 2 builds a modern decoder, the Llama family (Llama 3, Qwen, Mistral, SmolLM2). It starts
with its configuration and its normalization, RMSNorm: LayerNorm without the mean and without
the bias. Read katas/step_13.md, then run `kata check 13`.
"""

from dataclasses import dataclass

from max.experimental import functional as F  # noqa: F401 - you will need it
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


@dataclass
class LlamaConfig:
    # TODO: give every field SmolLM2-135M's value instead of None (the lesson lists them).
    vocab_size: int = None  # how many different tokens the model knows
    hidden_size: int = None  # the width of every token's vector
    intermediate_size: int = None  # the MLP's hidden width
    num_hidden_layers: int = None  # how many decoder layers are stacked
    num_attention_heads: int = None  # query heads per layer
    num_key_value_heads: int = None  # key/value heads per layer, shared by groups of query heads
    rms_norm_eps: float = None  # the small number that keeps RMSNorm from dividing by 0
    rope_theta: float = None  # the base of the rotary position frequencies (kata 14)
    max_position_embeddings: int = None  # the longest sequence it was trained on
    tie_word_embeddings: bool = None  # whether lm_head reuses the token embedding matrix

    @property
    def head_dim(self) -> int:
        """The width of one attention head."""
        # TODO
        return None


class RMSNorm(Module):
    def __init__(self, dim: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        # TODO: create the learned scale `weight` (starts at ones), of shape [dim]. The name
        # matters: Hugging Face's input_layernorm.weight is loaded into it by name.

    def forward(self, x: Tensor) -> Tensor:
        # TODO: divide x by the root mean square of its last axis (eps inside the root), then
        # scale by weight.
        return None
