"""Cut / duplicate / fade metrics of neighbouring source frames, as a VapourSynth clip of frame props.

Used by the filter (``vsrife.filter``) and by ``make quality`` (``bench/quality*.py``), so both read the same numbers.

:func:`pair_metrics` returns a clip whose frame ``j`` carries the metrics of the pair ``(j, j + 1)`` (the last
frame: the pair of the last frame with itself) as props:

* ``VsrifeDiff``: block-mean ``|Y(j) - Y(j+1)|`` divided by the two frames' contrast (the historic cut metric;
  it grows without bound when the frames go dark or flat, e.g. in a fade);
* ``VsrifeNormDiff``: the same after normalising each frame's block means to zero mean and unit contrast, so a
  global gain/offset (fade to or from a constant colour, flash, exposure change) does not change it;
* ``VsrifeBlockDiff``: max over blocks of the block-mean ``|Y(j) - Y(j+1)|`` (the duplicate metric, 0-1);
* ``VsrifeCutProp``: 1 when ``_SceneChangeNext`` is set on ``j`` or ``_SceneChangePrev`` on ``j + 1``;
* ``VsrifeBlocks``: the block means (0-1, row-major on a grid :data:`BLOCK_GRID` wide) of frame ``j`` itself,
  so any two frames can be compared (:func:`affine_fit`) without another clip.

The metrics are computed on a grey copy at most :data:`METRIC_WIDTH` pixels wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import vapoursynth as vs

core = vs.core

__all__ = ["METRIC_WIDTH", "BLOCK_GRID", "FLAT_CONTRAST", "PairMetrics", "pair_metrics", "grey", "block_grid",
           "contrast", "norm_diff", "affine_fit"]

#: Metrics are computed on a grey copy this wide (height keeps the aspect ratio).
METRIC_WIDTH = 256
#: ... and block means on a grid this wide.
BLOCK_GRID = 16
#: Mean absolute deviation (0-1) of a frame's block means below which it has no structure (flat / black / white).
FLAT_CONTRAST = 0.004

P_DIFF = "VsrifeDiff"
P_NORM = "VsrifeNormDiff"
P_BLOCK = "VsrifeBlockDiff"
P_CUT = "VsrifeCutProp"
P_BLOCKS = "VsrifeBlocks"


@dataclass(frozen=True)
class PairMetrics:
    """The metrics of one pair ``(j, j + 1)`` read back from a frame of :func:`pair_metrics`."""

    diff: float
    norm: float
    block: float
    cut_prop: bool
    blocks: np.ndarray          # block means of frame j

    @staticmethod
    def of(frame: vs.VideoFrame) -> "PairMetrics":
        p = frame.props
        return PairMetrics(float(p[P_DIFF]), float(p[P_NORM]), float(p[P_BLOCK]), bool(p[P_CUT]),
                           np.asarray(p[P_BLOCKS], dtype=np.float64))

    @property
    def flat(self) -> bool:
        """Frame ``j`` has no structure (its block means are all but constant)."""
        return contrast(self.blocks) < FLAT_CONTRAST


def contrast(x: np.ndarray) -> float:
    """Mean absolute deviation from the mean."""
    return float(np.mean(np.abs(x - x.mean())))


def norm_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of ``a`` and ``b`` after normalising each to mean 0, contrast 1, halved (so that
    for two frames of the same brightness it is close to :data:`P_DIFF`). Flat inputs count as all-zero."""
    ca, cb = contrast(a), contrast(b)
    za = (a - a.mean()) / ca if ca >= FLAT_CONTRAST else np.zeros_like(a)
    zb = (b - b.mean()) / cb if cb >= FLAT_CONTRAST else np.zeros_like(b)
    return float(np.mean(np.abs(za - zb))) / 2


def affine_fit(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """How much of the difference between ``a`` and ``b`` a global gain/offset explains.

    Returns ``(identity, affine)``: mean ``|a - b|``, and mean ``|a - (g * (b - mean b) + mean a)|`` with
    ``g = contrast(a) / contrast(b)`` (``b``'s block means mapped onto ``a``'s brightness and contrast). A flat
    ``b`` maps to ``a``'s mean.
    """
    ident = float(np.mean(np.abs(a - b)))
    cb = contrast(b)
    g = contrast(a) / cb if cb >= FLAT_CONTRAST else 0.0
    return ident, float(np.mean(np.abs(a - (g * (b - b.mean()) + a.mean()))))


def grey(clip: vs.VideoNode) -> vs.VideoNode:
    """The grey copy the metrics are computed on: luma (RGB: BT.709 luma) as GRAYS, at most METRIC_WIDTH wide."""
    w = min(METRIC_WIDTH, clip.width)
    h = max(8, round(clip.height * w / clip.width / 2) * 2)
    fam = clip.format.color_family
    if fam == vs.RGB:
        return core.resize.Bilinear(clip, w, h, format=vs.GRAYS, matrix_s="709")
    g = core.std.ShufflePlanes(clip, 0, vs.GRAY) if fam == vs.YUV else clip
    return core.resize.Bilinear(g, w, h, format=vs.GRAYS)


def block_grid(g: vs.VideoNode) -> vs.VideoNode:
    """Block means of a grey copy (:func:`grey`) on the grid BLOCK_GRID wide (height keeps the aspect ratio)."""
    bw = min(BLOCK_GRID, g.width)
    return core.resize.Bilinear(g, bw, max(1, round(bw * g.height / g.width)))


def pair_metrics(clip: vs.VideoNode) -> vs.VideoNode:
    """Frame ``j`` carries the metrics of source frames ``j`` and ``j + 1`` (see the module docstring)."""
    g = grey(clip)
    nxt = g[1:] + g[-1] if clip.num_frames > 1 else g
    bst = core.std.PlaneStats(block_grid(core.std.Expr([g, nxt], "x y - abs")), prop="B")
    gb = block_grid(g)  # block means of each grey frame
    gb_next = gb[1:] + gb[-1] if clip.num_frames > 1 else gb
    src_next = clip[1:] + clip[-1] if clip.num_frames > 1 else clip

    def _merge(n: int, f: list[vs.VideoFrame]) -> vs.VideoFrame:
        out = f[0].copy()
        a = np.asarray(f[3][0], dtype=np.float64)
        b = np.asarray(f[4][0], dtype=np.float64)
        # Relative to the frames' own contrast, so that cuts between two dark shots are found as reliably as bright
        # ones while fast pans stay below the threshold.
        spread = contrast(a) + contrast(b)
        out.props[P_DIFF] = float(np.mean(np.abs(a - b))) / max(spread, 0.01)
        out.props[P_NORM] = norm_diff(a, b)
        out.props[P_BLOCK] = float(f[0].props["BMax"])
        out.props[P_CUT] = int(bool(f[1].props.get("_SceneChangeNext", 0) or f[2].props.get("_SceneChangePrev", 0)))
        out.props[P_BLOCKS] = a.ravel().tolist()
        return out

    return core.std.ModifyFrame(bst, [bst, clip, src_next, gb, gb_next], _merge)
