"""Kata 12: text generation, one token at a time."""
import numpy as np
from max.driver import CPU
from max.dtype import DType
from max.experimental import functional as F
from max.experimental.nn import Module
from max.experimental.tensor import Tensor


def generate_next_token(
    model: Module, input_ids: Tensor, temperature: float = 1.0, do_sample: bool = True
) -> Tensor:
    """Returns the next token id for a (1, seq) int64 input, as a (1,) int64 Tensor."""
    logits = model(input_ids)  # (1, seq, vocab)
    next_token_logits = logits[0, -1, :]  # (vocab,)

    if not do_sample:
        return F.argmax(next_token_logits)  # (1,) int64

    if temperature <= 0:
        raise ValueError("temperature must be > 0 when sampling")
    probs = F.softmax(next_token_logits / temperature)
    probs_np = np.from_dlpack(probs.to(CPU())).astype(np.float64)
    probs_np /= probs_np.sum()
    token = np.random.choice(len(probs_np), p=probs_np)
    return Tensor(np.array([token], dtype=np.int64), device=input_ids.device)


def generate_tokens(
    model: Module,
    input_ids: Tensor,
    max_new_tokens: int = 10,
    temperature: float = 1.0,
    do_sample: bool = True,
) -> Tensor:
    """Appends max_new_tokens tokens; returns (1, seq + max_new_tokens) int64."""
    generated = input_ids
    for _ in range(max_new_tokens):
        next_token = generate_next_token(
            model, generated, temperature=temperature, do_sample=do_sample
        )
        next_token = next_token.reshape([1, 1]).cast(DType.int64)
        generated = F.concat([generated, next_token], axis=-1)
    return generated
