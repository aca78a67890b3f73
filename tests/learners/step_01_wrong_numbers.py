from dataclasses import dataclass


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 16  # wrong: GPT-2 small has 12 heads
    n_inner: int | None = None
    layer_norm_epsilon: float = 1e-5
