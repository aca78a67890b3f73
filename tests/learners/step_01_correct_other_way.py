"""A correct GPT2Config written differently: a frozen dataclass with field(default=...)."""

import dataclasses
from dataclasses import field
from typing import Optional

SMALL = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12}


@dataclasses.dataclass(frozen=True)
class GPT2Config:
    vocab_size: int = field(default=SMALL["vocab_size"])
    n_positions: int = field(default=SMALL["n_positions"])
    n_embd: int = field(default=SMALL["n_embd"])
    n_layer: int = field(default=SMALL["n_layer"])
    n_head: int = field(default=SMALL["n_head"])
    n_inner: Optional[int] = field(default=4 * SMALL["n_embd"])
    layer_norm_epsilon: float = field(default=0.00001)
