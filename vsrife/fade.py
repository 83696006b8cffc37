"""Fade-aware interpolation: the flow on intensity-normalised frames, then the fade's own intensity law at ``t``.

In a fade to or from a constant colour (and in a flash or an exposure change) frame ``b`` is, up to motion, frame
``a`` with a per-plane gain and offset: ``b ~ (a - mean_a) * r + mean_b`` with ``r = std_b / std_a``. RIFE on the raw
pair sees the brightness change as motion and smears it; a plain blend gets the brightness right and the motion
wrong. Here the lower-contrast frame is mapped onto the higher-contrast frame's mean and contrast, RIFE interpolates
the two (same brightness: only motion is left), and the result is mapped to the mean and contrast linearly
interpolated at ``t`` (exact for a fade that is linear between the two frames). When the lower-contrast frame has
almost no structure left (contrast below 1 / :data:`MAX_GAIN` of the other's), it carries no motion either: the
higher-contrast frame alone is mapped to the intensity at ``t``.

The normalised frame is handed to the engine under a key of its own (``("fade", index, reference index)``), so it
never collides with the plain frame in the engine's cache of converted source frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Hashable

import numpy as np

from .color import YUV, PlaneFormat

__all__ = ["MAX_GAIN", "fade_interpolate"]

#: Largest gain applied to the lower-contrast frame; beyond it that frame is treated as flat.
MAX_GAIN = 8.0

#: ``engine.interpolate``'s signature: (key a, planes a, props a, key b, planes b, props b, t) -> planes.
Interpolate = Callable[[Hashable, Sequence[np.ndarray], Mapping, Hashable, Sequence[np.ndarray], Mapping, Fraction],
                       list[np.ndarray]]


def _limits(fmt: PlaneFormat, plane: int) -> tuple[float, float, float]:
    """(low, high, flat std) of a plane's sample values."""
    if fmt.is_float:
        chroma = fmt.color_family == YUV and plane > 0
        lo, hi = (-0.5, 0.5) if chroma else (0.0, 1.0)
        return lo, hi, 0.5 / 255
    hi = float((1 << fmt.bits) - 1)
    return 0.0, hi, 0.5 * hi / 255


def _stats(p: np.ndarray) -> tuple[float, float]:
    x = p.astype(np.float64, copy=False)
    return float(x.mean()), float(x.std())


def _store(x: np.ndarray, like: np.ndarray, lo: float, hi: float) -> np.ndarray:
    x = np.clip(x, lo, hi)
    if np.issubdtype(like.dtype, np.integer):
        x = np.rint(x)
    return x.astype(like.dtype)


def fade_interpolate(interpolate: Interpolate, fmt: PlaneFormat, a: int, planes_a: Sequence[np.ndarray],
                     props_a: Mapping, b: int, planes_b: Sequence[np.ndarray], props_b: Mapping,
                     t: Fraction, weight: float | None = None) -> list[np.ndarray]:
    """Output planes at time ``t`` between source frames ``a`` and ``b`` that differ by a global intensity change.

    ``interpolate`` is the engine's (source keys, planes, props, t) -> planes; the planes are in the clip's format.
    ``weight``: where the intensity is at ``t``, from ``a`` (0) to ``b`` (1) (:func:`vsrife.transitions.fade_weight`;
    None: ``t``, a fade linear across the pair). The motion is always interpolated at ``t``.
    """
    tf = float(t) if weight is None else float(weight)
    sa = [_stats(p) for p in planes_a]
    sb = [_stats(p) for p in planes_b]
    ref_is_a = sa[0][1] >= sb[0][1]     # the frame with more contrast (first plane: luma, or R/G/B's first)
    ref_planes, other_planes = (planes_a, planes_b) if ref_is_a else (planes_b, planes_a)
    s_ref, s_other = (sa, sb) if ref_is_a else (sb, sa)
    lims = [_limits(fmt, p) for p in range(len(planes_a))]
    # Per plane: contrast of the other frame relative to the reference (1 where the reference has no structure).
    ratio = [so[1] / sr[1] if sr[1] > lim[2] else 1.0 for sr, so, lim in zip(s_ref, s_other, lims)]
    w_other = tf if ref_is_a else 1.0 - tf                   # weight of the other frame at t
    out_scale = [(1.0 - w_other) + w_other * r for r in ratio]  # contrast at t relative to the reference
    out_mean = [(1 - tf) * ma + tf * mb for (ma, _), (mb, _) in zip(sa, sb)]
    flat = s_other[0][1] * MAX_GAIN < s_ref[0][1] or s_other[0][1] <= lims[0][2]
    if flat:
        moved = [np.asarray(p, dtype=np.float64) for p in ref_planes]
    else:
        # A plane with (almost) no structure left carries no motion: the reference's own plane stands in.
        mapped = [_store((np.asarray(p, dtype=np.float64) - so[0]) / r + sr[0], p, lim[0], lim[1])
                  if r * MAX_GAIN >= 1 else np.array(rp, copy=True)
                  for p, rp, so, sr, r, lim in zip(other_planes, ref_planes, s_other, s_ref, ratio, lims)]
        ref_key, other_key = (a, b) if ref_is_a else (b, a)
        key = ("fade", other_key, ref_key)
        if ref_is_a:
            got = interpolate(a, planes_a, props_a, key, mapped, props_b, t)
        else:
            got = interpolate(key, mapped, props_a, b, planes_b, props_b, t)
        moved = [np.asarray(p, dtype=np.float64) for p in got]
    return [_store((m - sr[0]) * k + mu, like, lim[0], lim[1])
            for m, sr, k, mu, like, lim in zip(moved, s_ref, out_scale, out_mean, planes_a, lims)]
