"""Remapped clips built once per ``rife()`` call: frame ``n`` of the result is a chosen source frame of ``n``'s pair.

Output frame ``n`` sits at source time ``tau = n / ratio``; its plain pair is ``(floor(tau), floor(tau) + 1)`` and
every other frame it may need (duplicate runs, the metrics of neighbouring pairs) is ``floor(tau) + k`` for a small
offset ``k``. :func:`remapped` gives, for one offset, the clip whose frame ``n`` is source frame
``clamp(floor(tau) + k)``, made of stock VapourSynth filters only (``Trim``/``Splice`` for the offset,
``Interleave`` + ``SelectEvery`` for the rate), so no node is created while frames are requested.
"""

from __future__ import annotations

from fractions import Fraction

import vapoursynth as vs

from . import timing

core = vs.core

__all__ = ["shifted", "remapped"]


def shifted(clip: vs.VideoNode, k: int) -> vs.VideoNode:
    """Frame ``j`` is ``clip[clamp(j + k, 0, len - 1)]`` (same length)."""
    n = clip.num_frames
    if k == 0:
        return clip
    if k > 0:
        return clip[-1] * n if k >= n else clip[k:] + clip[-1] * k
    k = -k
    return clip[0] * n if k >= n else clip[0] * k + clip[: n - k]


def remapped(clip: vs.VideoNode, ratio: Fraction, k: int = 0) -> vs.VideoNode:
    """Frame ``n`` (of ``timing.output_length(len, ratio)``) is ``clip[clamp(floor(n / ratio) + k)]``.

    ``Interleave`` of ``p`` copies makes frame ``m`` = ``clip[m // p]``; ``SelectEvery(q, [0])`` then picks
    ``m = n * q``, so frame ``n`` is ``clip[floor(n * q / p)]`` with ``ratio = p / q``. Durations and the frame rate
    are left to the caller.
    """
    src = shifted(clip, k)
    p, q = ratio.numerator, ratio.denominator
    out = core.std.Interleave([src] * p, modify_duration=False) if p > 1 else src
    if q > 1:
        out = core.std.SelectEvery(out, q, [0], modify_duration=False)
    assert out.num_frames == timing.output_length(clip.num_frames, ratio)
    return out
