"""Kata 2's fresh inputs: a sequence length and a number of cached tokens (always some: a mask
that ignores num_tokens is only wrong when there are cached keys); the mask must let each query
see exactly the keys at or before its own position."""

import numpy as np

MASK_BLOCKED_AT_MOST = -1e4  # as the hidden tests: anything this negative removes a key


def draw(rng, fixtures_dir):
    return {"seq": np.array(int(rng.integers(1, 13))), "past": np.array(int(rng.integers(1, 7)))}


def run(learner, inputs):
    from max.driver import CPU
    from max.dtype import DType

    from checker.child.testkit import outputs

    seq, past = int(inputs["seq"]), int(inputs["past"])
    return outputs(f"causal_mask({seq}, {past})",
                   lambda: learner.causal_mask(seq, past, dtype=DType.float32, device=CPU()), "mask")


def judge(inputs, outputs, fixtures_dir):
    seq, past = int(inputs["seq"]), int(inputs["past"])
    mask = outputs.get("mask")
    if mask is None:
        return "no mask came back"
    if mask.shape != (seq, seq + past):
        ignored = IGNORES_NUM_TOKENS if mask.shape == (seq, seq) and past else ""
        return f"causal_mask({seq}, {past}) has shape {mask.shape}; expected {(seq, seq + past)}{ignored}"
    if mask.dtype != np.float32:
        return f"causal_mask({seq}, {past}) is {mask.dtype}; expected float32"
    rows, cols = np.indices(mask.shape)
    allowed = cols <= rows + past
    leaked = [tuple(map(int, p)) for p in np.argwhere(~allowed & ~(mask <= MASK_BLOCKED_AT_MOST))]
    hidden = [tuple(map(int, p)) for p in np.argwhere(allowed & ~(np.abs(mask) <= 1e-6))]
    if leaked or hidden:
        return f"causal_mask({seq}, {past}) lets queries see the wrong keys{name_mistake(leaked, hidden, past)}"
    return None


IGNORES_NUM_TOKENS = (": the mask ignores num_tokens and hides keys that are already in the cache. "
                      "Query i sees keys 0 .. i + num_tokens: the num_tokens earlier keys too.")


TRANSPOSED = "Your mask looks transposed: the future is above the diagonal (key > query)."
TOO_WIDE = "Each query also sees the next token: the band is one diagonal too wide."
DIAGONAL = ("The diagonal is masked: every token must see itself "
            "(query i sees keys j <= i + num_tokens).")


def name_mistake(leaked: list, hidden: list, past: int) -> str:
    """The known mistake these wrong [query, key] entries make, if they make one."""
    if leaked and hidden:
        return ". " + TRANSPOSED
    if leaked and all(j == i + past + 1 for i, j in leaked):
        return ". " + TOO_WIDE
    if past and hidden and set(hidden) == {(i, j) for i, _ in hidden for j in range(i + 1, i + past + 1)}:
        return IGNORES_NUM_TOKENS
    if hidden and all(j == i + past for i, j in hidden):
        return ". " + DIAGONAL
    return ""
