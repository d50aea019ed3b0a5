"""Exponential backoff: how long to wait after the n-th failure in a row (feed polls, alert sends)."""

from __future__ import annotations


def backoff_seconds(base: float, failures: int, cap: float) -> float:
    """``base`` doubled for every failure after the first, never more than ``cap``.

    ``failures`` counts the failures in a row, the one that just happened included: the first waits
    ``base``, the second ``2 * base``, and so on.
    """
    if failures <= 1:
        return min(base, cap)
    # past 2**60 the product only overflows; the cap has long been reached
    return min(base * 2 ** min(failures - 1, 60), cap)
