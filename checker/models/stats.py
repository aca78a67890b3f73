"""The statistic kata 12's sampling checks use: a Kolmogorov-Smirnov distance over tokens."""

from __future__ import annotations

import numpy as np


def cdf_distance(draws, probs: np.ndarray, order: np.ndarray | None = None) -> float:
    """Largest gap between the draws' CDF and probs' CDF, tokens sorted by `order` (default:
    most probable first under probs)."""
    if order is None:
        order = np.argsort(-probs, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    expected = np.cumsum(probs[order])
    counts = np.bincount(rank[np.asarray(draws)], minlength=len(order))
    empirical = np.cumsum(counts) / len(draws)
    return float(np.abs(empirical - expected).max())
