from dataclasses import dataclass

import gpt2_helpers_that_do_not_exist  # noqa: F401


@dataclass
class GPT2Config:
    vocab_size: int = 50257
