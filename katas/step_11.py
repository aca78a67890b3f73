"""Kata 11: the language-model head.

One bias-free linear layer turns every hidden state into a score (logit) per vocabulary token.
Read katas/step_11.md, then run `kata check 11`.
"""

from max.experimental.nn import Linear, Module  # noqa: F401 - you will need Linear
from max.experimental.tensor import Tensor

from katas.step_01 import GPT2Config
from katas.step_10 import GPT2Model  # noqa: F401 - you will need it


class MaxGPT2LMHeadModel(Module):
    """GPT2Model followed by a bias-free projection to vocabulary logits."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        # TODO: create `transformer` (your kata 10 model) and `lm_head` (n_embd -> vocab_size,
        # no bias). These names matter: GPT-2's checkpoint loads into them.

    def forward(self, input_ids: Tensor) -> Tensor:
        """(batch, seq) int64 token ids -> (batch, seq, vocab_size) logits (not probabilities)."""
        # TODO
        return None
