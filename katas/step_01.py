"""Kata 1: the model configuration.

Fill in GPT2Config so that its defaults are GPT-2 small (124M parameters), the model OpenAI
released and Hugging Face's transformers calls "gpt2". Read katas/step_01.md, then run
`kata check 1`.
"""

from dataclasses import dataclass


@dataclass
class GPT2Config:
    # TODO: give every field GPT-2 small's value instead of None.
    vocab_size: int = None  # how many different tokens the model knows
    n_positions: int = None  # the longest sequence it can read
    n_embd: int = None  # the width of every token's vector
    n_layer: int = None  # how many transformer blocks are stacked
    n_head: int = None  # attention heads per block
    n_inner: int | None = None  # the MLP's hidden width; None means 4 * n_embd
    layer_norm_epsilon: float = None  # the small number that keeps layer norm from dividing by 0
