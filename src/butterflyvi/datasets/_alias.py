"""Walker's alias method: O(1) draws from a fixed discrete distribution."""

from __future__ import annotations

import numpy as np


def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Build the alias table of a discrete distribution (Vose's algorithm).

    Parameters
    ----------
    weights
        Non-negative weights, not all zero.

    Returns
    -------
    ``(accept, alias)``: draw ``i`` uniformly, keep it with probability ``accept[i]``,
    otherwise return ``alias[i]``.

    """
    n = len(weights)
    scaled = (np.asarray(weights, dtype=np.float64) * (n / np.sum(weights))).tolist()
    alias = list(range(n))
    small = [i for i, p in enumerate(scaled) if p < 1.0]
    large = [i for i, p in enumerate(scaled) if p >= 1.0]
    while small and large:
        s, g = small.pop(), large[-1]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        if scaled[g] < 1.0:
            large.pop()
            small.append(g)
    for i in small + large:  # leftovers are 1 up to rounding
        scaled[i] = 1.0
    return np.array(scaled, dtype=np.float32), np.array(alias, dtype=np.int32)


def alias_draw(
    rng: np.random.Generator, accept: np.ndarray, alias: np.ndarray, size: int
) -> np.ndarray:
    """Draw ``size`` indices from the distribution of an `alias_table`."""
    picks = rng.integers(0, len(accept), size=size, dtype=np.int32)
    keep = rng.random(size, dtype=np.float32) < accept[picks]
    return np.where(keep, picks, alias[picks])
