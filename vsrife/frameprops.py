"""What each output frame is, written into its props (and shown by ``rife(..., debug=True)``).

Every output frame carries:

* ``VsrifeMode``: ``"copy"`` (a source frame, bit-identical), ``"interpolated"`` (RIFE between ``a`` and ``b``),
  ``"cut-hold"`` (a scene cut lies between ``a`` and ``b``: the left frame is shown), ``"fade"`` (a global intensity
  change between ``a`` and ``b``: the fade-aware interpolation of :mod:`vsrife.fade`), ``"dedup"`` (a copy or an
  interpolation whose pair or time was moved by ``dedup=True``);
* ``VsrifeSourceA`` / ``VsrifeSourceB``: the source frames it was made from (equal for copies);
* ``VsrifeT`` (float) and ``VsrifeTNum`` / ``VsrifeTDen`` (exact): the time from ``a`` to ``b``, 0 for copies.

Copies keep every prop of their source frame. Synthesized frames (interpolated, fade, dedup interpolations) keep
the left frame's props that still hold (``_Matrix``, ``_Range``/``_ColorRange``, ``_Primaries``, ``_Transfer``,
``_ChromaLocation``, ``_SARNum``/``_SARDen``, user props) and lose those that describe a coded picture:
``_PictType``, and ``_FieldBased`` unless it says progressive (0): RIFE makes progressive pictures.
"""

from __future__ import annotations

from fractions import Fraction

import vapoursynth as vs

__all__ = ["MODES", "DEBUG_PROPS", "mark"]

MODES = ("copy", "interpolated", "cut-hold", "fade", "dedup")
#: The props ``debug=True`` overlays.
DEBUG_PROPS = ["VsrifeMode", "VsrifeSourceA", "VsrifeSourceB", "VsrifeT"]
_CODED = ("_PictType",)


def mark(frame: vs.VideoFrame, mode: str, a: int, b: int, t: Fraction, synthesized: bool) -> None:
    """Write the ``Vsrife*`` props into ``frame`` (writable); ``synthesized``: drop the coded-picture props."""
    props = frame.props
    props["VsrifeMode"] = mode
    props["VsrifeSourceA"] = a
    props["VsrifeSourceB"] = b
    props["VsrifeT"] = float(t)
    props["VsrifeTNum"] = t.numerator
    props["VsrifeTDen"] = t.denominator
    if synthesized:
        for key in _CODED:
            if key in props:
                del props[key]
        if props.get("_FieldBased", 0):
            del props["_FieldBased"]
