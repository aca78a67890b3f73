"""Kata 12, correct but written differently: sampling done in numpy float64 with an unseeded
np.random.default_rng(); greedy by numpy argmax; generation concatenates in numpy."""
import numpy as np
from max.experimental.nn import Module
from max.experimental.tensor import Tensor

_rng = np.random.default_rng()


def generate_next_token(model: Module, input_ids: Tensor, temperature: float = 1.0,
                        do_sample: bool = True) -> Tensor:
    logits = model(input_ids).to_numpy()[0, -1].astype(np.float64)
    if not do_sample:
        tok = int(np.argmax(logits))
    else:
        scaled = logits / temperature
        scaled -= scaled.max()
        probs = np.exp(scaled)
        probs /= probs.sum()
        tok = int(_rng.choice(len(probs), p=probs))
    return Tensor.from_dlpack(np.array([tok], dtype=np.int64))


def generate_tokens(model: Module, input_ids: Tensor, max_new_tokens: int = 10,
                    temperature: float = 1.0, do_sample: bool = True) -> Tensor:
    ids = input_ids.to_numpy().astype(np.int64)
    for _ in range(max_new_tokens):
        tok = generate_next_token(model, Tensor.from_dlpack(np.ascontiguousarray(ids)),
                                  temperature=temperature, do_sample=do_sample)
        ids = np.concatenate([ids, tok.to_numpy().reshape(1, 1).astype(np.int64)], axis=1)
    return Tensor.from_dlpack(np.ascontiguousarray(ids))
