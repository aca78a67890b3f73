"""A correct kata 1 that also writes down, at import, which SIGINT handler the check runs under."""

import os
import signal
from dataclasses import dataclass

with open(os.environ["SIGINT_REPORT"], "w") as report:
    report.write("default" if signal.getsignal(signal.SIGINT) is signal.default_int_handler else "fixed")


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None
    layer_norm_epsilon: float = 1e-5
