"""Kata 14: rotary_tables gives Hugging Face's cos/sin tables (half-split layout) for any start
and theta, and apply_rotary rotates queries and keys exactly as apply_rotary_pos_emb does."""

import numpy as np

from checker.models import llama
from checker.child.testkit import FAILED, as_numpy, attempt, expect, expect_close, fixture, run, tensor


def _golden():
    return fixture("golden/step_14.npz")


def _table_mistakes(g, start, theta) -> dict:
    hd, seq = int(g["head_dim"]), int(g["seq_len"])
    wrong = lambda **flag: llama.rotary_tables(hd, seq, theta, start, **flag)  # noqa: E731
    return {
        "the angles are laid out as interleaved pairs [a0, a0, a1, a1, ...]; Hugging Face "
        "repeats the half: [a0, a1, ..., a0, a1, ...] (concatenate the angles with themselves).":
            wrong(rope_interleaved=True),
        "theta is ignored (10000 is used): inv_freq = theta ** (-2i / head_dim) with the theta given.":
            wrong(rope_theta_ignored=True),
        "the start offset is ignored: row p is position start + p.": wrong(rope_start_ignored=True),
        "the frequencies use i / head_dim: inv_freq[i] = theta ** (-2i / head_dim) for "
        "i < head_dim / 2 (the exponent steps by 2 / head_dim).": wrong(rope_freq_over_head_dim=True),
    }


def _tables(learner, g, start, theta, what):
    """The learner's (cos, sin) as numpy, or (None, None) after recording what was wrong."""
    hd, seq = int(g["head_dim"]), int(g["seq_len"])
    kwargs = {} if start is None else {"start": start}
    if theta is not None:
        kwargs["theta"] = theta
    pair = attempt(what, lambda: learner.rotary_tables(hd, seq, **kwargs))
    if pair is FAILED:
        return None, None
    if not expect(isinstance(pair, (tuple, list)) and len(pair) == 2,
                  f"{what} should return a pair (cos, sin); it returned {type(pair).__name__}."):
        return None, None
    return as_numpy(pair[0], f"cos of {what}"), as_numpy(pair[1], f"sin of {what}")


def _check_tables(learner, g, start, theta, want_cos, want_sin, label):
    hd, seq = int(g["head_dim"]), int(g["seq_len"])
    args = f"{hd}, {seq}" + (f", theta={theta:g}" if theta is not None else "") + \
        (f", start={start}" if start is not None else "")
    cos, sin = _tables(learner, g, start, theta, f"rotary_tables({args})")
    if cos is None or sin is None:
        return
    mistakes = _table_mistakes(g, start or 0, theta if theta is not None else 10000.0)
    expect_close(f"cos of rotary_tables({args}) {label}", cos, want_cos,
                 mistakes={k: v[0] for k, v in mistakes.items()})
    expect_close(f"sin of rotary_tables({args}) {label}", sin, want_sin,
                 mistakes={k: v[1] for k, v in mistakes.items()})


def test_tables_from_position_0(learner):
    g = _golden()
    _check_tables(learner, g, None, float(g["theta"]), g["cos_0"], g["sin_0"], "(positions 0 ..)")


def test_tables_with_a_start_offset(learner):
    g = _golden()
    start = int(g["start"])
    _check_tables(learner, g, start, float(g["theta"]), g["cos"], g["sin"],
                  f"(positions {start} ..)")


def test_default_theta(learner):
    """Without theta, the original RoPE base 10000 (numpy reference, proven equal to HF's)."""
    g = _golden()
    cos, sin = llama.rotary_tables(int(g["head_dim"]), int(g["seq_len"]), 10000.0)
    _check_tables(learner, g, None, None, cos.astype(np.float32), sin.astype(np.float32),
                  "with the default theta 10000")


def _apply(learner, g, name):
    x = g[name]
    out = run(f"apply_rotary({name}, cos, sin)",
              lambda: learner.apply_rotary(tensor(x), tensor(g["cos"]), tensor(g["sin"])))
    wrong = {"pairs are rotated interleaved, (x0, x1), (x2, x3), ...; Hugging Face rotates the two "
             "halves: rotate_half(x) = concat(-x[..., d/2:], x[..., :d/2]).":
             llama.apply_rotary(x, g["cos"], g["sin"], rope_interleaved=True)}
    return out, wrong


def test_rotates_queries(learner):
    g = _golden()
    out, wrong = _apply(learner, g, "q")
    expect_close("apply_rotary(q, cos, sin)", out, g["q_out"], mistakes=wrong)


def test_rotates_keys(learner):
    g = _golden()
    out, wrong = _apply(learner, g, "k")
    expect_close("apply_rotary(k, cos, sin) (fewer heads than the queries)", out, g["k_out"],
                 mistakes=wrong)
