"""Per-pair decisions from the metrics of :mod:`vsrife.metrics`: scene cut, fade (global intensity change), or plain.

Pure functions of numbers and block-mean arrays (no VapourSynth), so the rules are unit tested directly.

Cut: a pair is a cut when a ``_SceneChange*`` prop says so, or when both the historic contrast-normalised difference
(``VsrifeDiff``) and the intensity-normalised one (``VsrifeNormDiff``) exceed the threshold, and neither frame is
flat. A global gain/offset (fades to and from black or white, flashes, exposure changes) leaves the normalised
difference small, so fades are never cuts; a flat frame (black, white, a flash's peak) has no structure to cut from.

Fade: a pair is a fade when its frames differ noticeably (block means differ by at least :data:`FADE_MIN_DIFF` on
average) and a global gain/offset explains most of that difference (the residual after the fit is at most
:data:`FADE_EXPLAINED` of it). Motion alone and cross-dissolves are not explained by a gain, so their pairs stay
plain interpolations, bit-identical to what the filter makes without fade handling.
"""

from __future__ import annotations

import numpy as np

from .metrics import FLAT_CONTRAST, PairMetrics, affine_fit, contrast

__all__ = ["FADE_MIN_DIFF", "FADE_EXPLAINED", "is_cut", "is_fade"]

#: Mean block difference (0-1) below which a pair is never treated as a fade (noise, slow exposure drift).
FADE_MIN_DIFF = 0.012
#: A fade's gain/offset fit leaves at most this fraction of the pair's block difference.
FADE_EXPLAINED = 0.45


def is_cut(pair: PairMetrics, next_blocks: np.ndarray | None, threshold: float | None) -> bool:
    """Scene cut between frames ``j`` and ``j + 1``.

    ``pair``: the metrics of ``(j, j + 1)``; ``next_blocks``: the block means of ``j + 1`` (None: unknown, treated
    as not flat); ``threshold``: ``sc_threshold`` (None: only the props decide).
    """
    if pair.cut_prop:
        return True
    if threshold is None or pair.diff <= threshold or pair.norm <= threshold:
        return False
    if pair.flat or (next_blocks is not None and contrast(next_blocks) < FLAT_CONTRAST):
        return False
    return True


def is_fade(blocks_a: np.ndarray, blocks_b: np.ndarray) -> bool:
    """The two frames (block means) differ mainly by a global gain/offset: a fade, flash or exposure change."""
    ident, ab = affine_fit(blocks_a, blocks_b)
    affine = min(ab, affine_fit(blocks_b, blocks_a)[1])  # either way round (a flat frame maps onto the other)
    if ident < FADE_MIN_DIFF:
        return False
    if contrast(blocks_a) < FLAT_CONTRAST and contrast(blocks_b) < FLAT_CONTRAST:
        return False  # two flat frames: a plain interpolation is exact
    return affine <= FADE_EXPLAINED * ident


#: A neighbour's contrast step below this fraction of the pair's own step means the fade stops there (a hold).
_KINK_FLAT = 0.25


def fade_weight(c_prev: float | None, c_a: float, c_b: float, c_next: float | None, t: float) -> float:
    """Where the fade's intensity is at time ``t`` of the pair ``(a, b)``, as a weight from ``a`` (0) to ``b`` (1).

    ``c_*``: the contrast (:func:`vsrife.metrics.contrast` of the block means) of frames ``a - 1``, ``a``, ``b``,
    ``b + 1`` (None: outside the clip). A fade that is linear across the pair gives ``t``. When the fade stops
    inside the pair (it reaches its colour, or a fade-in reaches the full picture), the neighbour on that side does
    not move on the pair's way while the one on the other side moves faster than the pair: the intensity follows the
    moving side's slope until it meets the still side's level, where the true frames are (a piecewise-linear law).
    """
    step = c_b - c_a
    if abs(step) < 1e-9:
        return t
    k_left = c_a - c_prev if c_prev is not None else step
    k_right = c_next - c_b if c_next is not None else step
    # "Still": no longer moving the pair's way (a hold, or a fade-through turning round); "faster": the same way by
    # more than the pair's own step.
    still_right = k_right * step < _KINK_FLAT * step * step and k_left * step > step * step
    still_left = k_left * step < _KINK_FLAT * step * step and k_right * step > step * step
    if still_right:     # the fade ends inside the pair: a's slope until b's level
        c_t = c_a + k_left * t
        c_t = max(c_t, c_b) if step < 0 else min(c_t, c_b)
    elif still_left:    # the fade starts inside the pair: a's level until b's slope
        c_t = c_b - k_right * (1 - t)
        c_t = min(c_t, c_a) if step < 0 else max(c_t, c_a)
    else:
        return t
    return min(1.0, max(0.0, (c_t - c_a) / step))
