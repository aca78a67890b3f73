"""Compares a learner's tensor with a golden one and says, in words, what differs and where."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

# float32 GPT-2 components in MAX match transformers to ~6e-6 (measured); an erf GELU is off by
# ~2e-3 and layer norm with n-1 in the variance by ~3e-2. The default tolerance sits between.
ATOL = 1e-4
RTOL = 1e-4


# The kinds of margin a judgement records: how far inside its tolerance a numeric comparison
# came, how near a tie a greedy choice was (the gap to the best logit over the tie allowance), and
# how far a statistical test's distance came to its bound.
TOLERANCE, TIE, STATISTICAL = "tolerance", "tie", "statistical"


@dataclass
class Margins:
    """The worst error-to-tolerance ratio, max |got - want| / (atol + rtol * |want|), of every
    comparison made while it was open (see margins()): under 1 passes; None when none was made.
    by_kind holds the worst of each kind (TOLERANCE, TIE, STATISTICAL)."""
    worst: float | None = None
    comparisons: int = 0
    by_kind: dict = field(default_factory=dict)

    def add(self, ratio: float, kind: str = TOLERANCE) -> None:
        self.comparisons += 1
        self.worst = ratio if self.worst is None else max(self.worst, ratio)
        self.by_kind[kind] = max(self.by_kind.get(kind, ratio), ratio)


_OPEN: list[Margins] = []


@contextlib.contextmanager
def margins():
    """`with diagnose.margins() as seen: ...` -> seen.worst: how close the comparisons made
    inside came to their tolerance. Off by default; it changes no verdict."""
    seen = Margins()
    _OPEN.append(seen)
    try:
        yield seen
    finally:
        _OPEN.remove(seen)


def record_margin(ratio: float, kind: str = TOLERANCE) -> None:
    """A judgement's own error-to-tolerance ratio (1 at the edge), for judgements that do not go
    through compare(); kept only while margins() is open."""
    for seen in _OPEN:
        seen.add(float(ratio), kind)


def _worst_ratio(diff: np.ndarray, allowed: np.ndarray) -> float:
    if diff.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / allowed)
    return float(np.nan_to_num(ratio, nan=np.inf).max())


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"


def compare(what: str, actual, expected: np.ndarray, atol: float = ATOL, rtol: float = RTOL,
            show: int = 3) -> str | None:
    """None when `actual` matches `expected` within atol + rtol * |expected|; else a message."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        return (f"{what}: expected shape {_shape(expected.shape)}, got {_shape(actual.shape)}.")
    if expected.dtype.kind == "f" and actual.dtype.kind not in "f":
        return f"{what}: expected floating-point values ({expected.dtype}), got {actual.dtype}."
    if expected.dtype.kind in "iub" and actual.dtype.kind != expected.dtype.kind:
        if not np.array_equal(actual, expected):
            return f"{what}: expected {expected.dtype} values, got {actual.dtype}."
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    nonfinite = ~np.isfinite(a) & np.isfinite(e)
    if nonfinite.any():
        if _OPEN:
            record_margin(float("inf"))
        where = tuple(int(i) for i in np.argwhere(nonfinite)[0])
        return (f"{what}: {int(nonfinite.sum())} of {a.size} values are NaN or infinite "
                f"(first at {where}: got {_fmt(a[where])}, expected {_fmt(e[where])}).")
    both_inf = np.isinf(a) & np.isinf(e) & (np.sign(a) == np.sign(e))
    diff = np.where(both_inf, 0.0, np.abs(a - e))
    diff = np.nan_to_num(diff, nan=np.inf)
    allowed = atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
    bad = diff > allowed
    if _OPEN:
        record_margin(_worst_ratio(diff, allowed))
    if not bad.any():
        return None
    positions = [tuple(int(i) for i in p) for p in np.argwhere(bad)[:show]]
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), diff.shape))
    rel = diff[worst] / max(abs(e[worst]), 1e-12)
    samples = "; ".join(f"at {p}: expected {_fmt(e[p])}, got {_fmt(a[p])}" for p in positions)
    return (
        f"{what}: {int(bad.sum())} of {a.size} values differ (tolerance {atol:g} + {rtol:g}*|expected|). "
        f"Largest error {_fmt(diff[worst])} (relative {_fmt(rel)}) at {worst}. First: {samples}."
    )


def recognise(actual, mistakes: dict[str, np.ndarray], atol: float = ATOL, rtol: float = RTOL) -> str | None:
    """The advice for the first known mistake whose output `actual` reproduces, if any.

    `mistakes` maps a sentence naming the mistake and its fix to what that mistake computes
    from the same golden inputs.
    """
    held = _OPEN[:]  # how close a mistake comes is no margin of the check
    _OPEN.clear()
    try:
        for advice, wrong in mistakes.items():
            wrong = np.asarray(wrong)
            if np.shape(actual) == wrong.shape and compare("", actual, wrong, atol, rtol) is None:
                return advice
        return None
    finally:
        _OPEN[:] = held
