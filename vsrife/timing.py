"""Pure output-frame -> source-time maps.

No VapourSynth, no torch: every function here is a pure function of integers and fractions, so the frame mapping
can be unit tested exhaustively.

Conventions
-----------
* Rates are exact fractions. ``ratio = out_rate / in_rate``; output frame ``n`` sits at source time
  ``tau = n / ratio`` (in source frames).
* A :class:`Step` says how output frame ``n`` is made: ``t == 0`` means "a copy of source frame ``a``"
  (bit-identical, only ``a`` is requested); otherwise interpolate from ``a`` to ``b`` at time ``t`` in (0, 1).
* Past the last source frame the last frame is held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

__all__ = [
    "Step",
    "output_length",
    "source_time",
    "plain_step",
    "is_dyadic",
    "ratio_is_dyadic",
    "DedupWindow",
    "dedup_step",
]


@dataclass(frozen=True)
class Step:
    """How one output frame is made: copy ``a`` (``t == 0``) or interpolate ``a -> b`` at ``t``."""

    a: int
    b: int
    t: Fraction

    @property
    def is_copy(self) -> bool:
        return self.t == 0

    @staticmethod
    def copy(a: int) -> "Step":
        return Step(a, a, Fraction(0))


def output_length(num_source_frames: int, ratio: Fraction) -> int:
    """Number of output frames: ``ceil(N * ratio)`` (so the output lasts as long as the input)."""
    return math.ceil(num_source_frames * ratio)


def source_time(n: int, ratio: Fraction) -> Fraction:
    """Source time (in source frames) of output frame ``n``."""
    return Fraction(n) / ratio


def plain_step(n: int, num_source_frames: int, ratio: Fraction) -> Step:
    """Time-uniform mapping: ``a = floor(tau)``, ``t = tau - a``; hold the last frame past the end."""
    tau = source_time(n, ratio)
    a = math.floor(tau)
    last = num_source_frames - 1
    if a >= last:
        return Step.copy(last)
    t = tau - a
    if t == 0:
        return Step.copy(a)
    return Step(a, a + 1, t)


def is_dyadic(t: Fraction) -> bool:
    """True when ``t`` is k / 2**m (reachable by repeated halving, as HD v3.6 needs)."""
    d = t.denominator
    return d & (d - 1) == 0


def ratio_is_dyadic(ratio: Fraction) -> bool:
    """True when every timestep produced by :func:`plain_step` for this ratio is dyadic.

    The timesteps are the multiples of ``1 / ratio`` modulo 1, whose common denominator is ``ratio.numerator``.
    """
    return is_dyadic(Fraction(1, ratio.numerator))


@dataclass(frozen=True)
class DedupWindow:
    """Neighbourhood metrics around a source frame, used by :func:`dedup_step`.

    ``first`` is the source index of ``dup[0]``/``cut[0]``. ``dup[k]`` is True when source frame ``first + k`` shows
    the same drawing as frame ``first + k - 1`` (a duplicate); ``cut[k]`` is True when there is a scene cut between
    frames ``first + k - 1`` and ``first + k``. A cut is never a duplicate. Frames outside the window must not be
    needed: the window must cover ``[a - max_run - 1, a + max_run + 2]`` clipped to the clip.
    """

    first: int
    dup: Sequence[bool]
    cut: Sequence[bool]

    def is_dup(self, i: int) -> bool:
        return bool(self.dup[i - self.first]) and not bool(self.cut[i - self.first])

    def is_cut(self, i: int) -> bool:
        return bool(self.cut[i - self.first])


def window_bounds(a: int, num_source_frames: int, max_run: int) -> tuple[int, int]:
    """Inclusive source range whose metrics :func:`dedup_step` may read for left frame ``a``."""
    return max(0, a - max_run - 1), min(num_source_frames - 1, a + max_run + 2)


def dedup_step(n: int, num_source_frames: int, ratio: Fraction, window: DedupWindow, max_run: int) -> Step:
    """Mapping onto drawings: motion spread evenly between the first frames of consecutive drawings.

    A drawing is a run of duplicate frames starting at ``s``. An output at source time ``tau`` between drawing
    starts ``s_i <= tau < s_j`` is interpolated from ``s_i`` to ``s_j`` at ``(tau - s_i) / (s_j - s_i)``.
    A run longer than ``max_run`` frames is a real pause: its frames are copied and motion resumes from the run's
    last frame. Scene cuts end a drawing; times before a cut are copies of the source frame at ``floor(tau)``.
    Without duplicates this is exactly :func:`plain_step`.
    """
    base = plain_step(n, num_source_frames, ratio)
    last = num_source_frames - 1
    tau = source_time(n, ratio)
    a = math.floor(tau)
    if a >= last:
        return base
    # Start of the drawing that is on screen at tau (look back at most max_run frames).
    s = a
    while s > 0 and s > a - max_run and window.is_dup(s):
        s -= 1
    if s > 0 and window.is_dup(s):
        # The run reaches back more than max_run frames: a real pause, hold until its last frame.
        s = -1
    # Start of the next drawing (look ahead at most max_run + 1 frames).
    e = a + 1
    while e <= last and e - a <= max_run + 1 and window.is_dup(e):
        e += 1
    if e > last:
        # The clip ends inside this drawing: nothing to move towards.
        return base if base.is_copy else Step.copy(a)
    if e - a > max_run + 1 or window.is_dup(e):
        # The run continues far beyond a: a real pause, hold.
        return Step.copy(a)
    if window.is_cut(e):
        # The next drawing is another shot: never blend, show what the source shows.
        return Step.copy(a)
    run_start = s
    if run_start < 0 or (e - run_start) > max_run:
        # A long run (pause): motion resumes from its last frame, e - 1.
        if tau <= e - 1:
            return Step.copy(a)
        return Step(e - 1, e, tau - (e - 1))
    t = (tau - run_start) / (e - run_start)
    if t == 0:
        return Step.copy(run_start)
    return Step(run_start, e, t)
