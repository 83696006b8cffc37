"""The output graph of ``rife()``, built once per clip.

Nodes made here, all when :func:`build` is called (none while frames are requested):

* ``src[k]`` / ``met[k]``: the source clip and its pair metrics (:mod:`vsrife.metrics`) remapped so that frame ``n``
  is source frame / pair ``floor(n / ratio) + k`` (:func:`vsrife.graph.remapped`);
* a copy node per offset ``k``: ``src[k]`` with the ``Vsrife*`` props added (planes untouched);
* a pair node per offset pair ``(ka, kb)``: one ``std.ModifyFrame`` over ``src[ka]``, ``src[kb]`` and the metrics it
  needs, whose callback decides cut-hold / fade / plain and runs the engine.

Plain mapping: a ``std.FrameEval`` returns the copy node for copies (only that source frame is requested) and the
``(0, 1)`` pair node otherwise. ``dedup=True``: the ``FrameEval`` reads the metrics of a bounded window of offsets
(``met[k]`` as ``prop_src``) and returns the copy or pair node that :func:`vsrife.timing.dedup_step` names.
Output frame ``n`` runs on ``engines[n % len(engines)]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

import numpy as np
import vapoursynth as vs

from . import timing
from .color import ColorError
from .engine import Engine
from .fade import fade_interpolate
from .frameprops import DEBUG_PROPS, mark
from .graph import remapped
from .metrics import PairMetrics, contrast, pair_metrics
from .transitions import fade_weight, is_cut, is_fade

core = vs.core

__all__ = ["Options", "build"]


@dataclass(frozen=True)
class Options:
    """The filter's decisions: ``sc_threshold`` is None when only props mark cuts (or ``sc=False``)."""

    sc: bool
    sc_threshold: float | None
    dedup: bool
    dedup_threshold: float
    dedup_max_run: int
    fade: bool
    debug: bool


def _err(msg: str) -> vs.Error:
    return vs.Error(f"rife: {msg}")


def _planes(f: vs.VideoFrame) -> list[np.ndarray]:
    return [np.asarray(f[p]) for p in range(f.format.num_planes)]


class _Graph:
    """The pre-built nodes of one ``rife()`` call; :class:`_Frames` holds the per-frame callbacks.

    The callbacks must not reference this object: VapourSynth nodes hold their Python callbacks in C, where Python's
    garbage collector cannot see them, so a callback that reached the nodes (through ``self``) would make a cycle
    that is never freed, keeping the engines (the networks, their caches) alive after the clip.
    """

    def __init__(self, clip: vs.VideoNode, engines: list[Engine], ratio: Fraction, opts: Options) -> None:
        self.clip, self.ratio, self.opts = clip, ratio, opts
        self.n_src = clip.num_frames
        self.n_out = timing.output_length(self.n_src, ratio)
        wants = opts.dedup or opts.sc_threshold is not None or opts.fade
        self.metrics = pair_metrics(clip) if (wants and self.n_src > 1) else None
        self.frames = _Frames(engines, ratio, opts, self.n_src)
        self._src: dict[int, vs.VideoNode] = {}
        self._met: dict[int, vs.VideoNode] = {}
        self._copies: dict[tuple[int, str], vs.VideoNode] = {}
        self._pairs: dict[tuple[int, int], vs.VideoNode] = {}
        self.template = core.std.BlankClip(clip, length=self.n_out, keep=True)

    # -- pre-built nodes ------------------------------------------------------------------------------------
    def src(self, k: int) -> vs.VideoNode:
        if k not in self._src:
            self._src[k] = remapped(self.clip, self.ratio, k)
        return self._src[k]

    def met(self, k: int) -> vs.VideoNode:
        assert self.metrics is not None
        if k not in self._met:
            self._met[k] = remapped(self.metrics, self.ratio, k)
        return self._met[k]

    def copy_node(self, k: int, mode: str = "copy") -> vs.VideoNode:
        key = (k, mode)
        if key not in self._copies:
            self._copies[key] = core.std.ModifyFrame(self.src(k), self.src(k), partial(self.frames.copy, k, mode))
        return self._copies[key]

    def pair_node(self, ka: int, kb: int) -> vs.VideoNode:
        if (ka, kb) not in self._pairs:
            clips = [self.src(ka), self.src(kb)]
            if self.metrics is not None:  # the pair's frames, and their outer neighbours for the fade's law
                clips += [self.met(ka), self.met(kb), self.met(ka - 1), self.met(kb + 1)]
            self._pairs[(ka, kb)] = core.std.ModifyFrame(clips[0], clips, partial(self.frames.pair, ka, kb))
        return self._pairs[(ka, kb)]

    # -- selection ------------------------------------------------------------------------------------------
    def plain(self) -> vs.VideoNode:
        copy, pair = self.copy_node(0), self.pair_node(0, 1)
        n_src, ratio = self.n_src, self.ratio

        def _select(n: int) -> vs.VideoNode:
            return copy if timing.plain_step(n, n_src, ratio).is_copy else pair

        return core.std.FrameEval(self.template, _select)

    def dedup(self) -> vs.VideoNode:
        m = self.opts.dedup_max_run
        # Offsets of the window (timing.window_bounds, one more pair on each side for the cut test's neighbours).
        ks = list(range(-m - 3, m + 3))
        window = [self.met(k) for k in ks]
        for ka in range(-m - 1, 1):
            for kb in range(ka + 1, m + 3):
                self.pair_node(ka, kb)
        for k in range(-m - 1, m + 3):
            for mode in ("copy", "dedup", "cut-hold"):
                self.copy_node(k, mode)
        return core.std.FrameEval(self.template, partial(self.frames.decide, dict(self._copies), dict(self._pairs)),
                                  prop_src=window)


class _Frames:
    """Per-frame work of one ``rife()`` call: decisions and the engines. Holds no VapourSynth node (see _Graph)."""

    def __init__(self, engines: list[Engine], ratio: Fraction, opts: Options, n_src: int) -> None:
        self.engines, self.ratio, self.opts, self.n_src = engines, ratio, opts, n_src

    # -- per-frame callbacks ----------------------------------------------------------------------------------
    def _base(self, n: int) -> int:
        return min(math.floor(timing.source_time(n, self.ratio)), self.n_src - 1)

    def copy(self, k: int, mode: str, n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        a = self._base(n) + k
        out = f.copy()
        mark(out, mode, a, a, Fraction(0), synthesized=False)
        return out

    def pair(self, ka: int, kb: int, n: int, f: list[vs.VideoFrame]) -> vs.VideoFrame:
        base = self._base(n)
        a, b = base + ka, base + kb
        t = (timing.source_time(n, self.ratio) - a) / (b - a)
        moved = self.opts.dedup and timing.plain_step(n, self.n_src, self.ratio) != timing.Step(a, b, t)
        fa, fb = f[0], f[1]
        ma = PairMetrics.of(f[2]) if len(f) > 2 else None
        mb = PairMetrics.of(f[3]) if len(f) > 2 else None
        if self.opts.sc and self._cut(fa, fb, ma if b == a + 1 else None, mb):
            out = fa.copy()
            mark(out, "cut-hold", a, b, t, synthesized=False)
            return out
        engine = self.engines[n % len(self.engines)]
        fading = self.opts.fade and ma is not None and is_fade(ma.blocks, mb.blocks)
        try:
            if fading:
                planes = fade_interpolate(engine.interpolate, engine.fmt, a, _planes(fa), fa.props, b, _planes(fb),
                                          fb.props, t, self._fade_weight(a, b, t, f))
            else:
                planes = engine.interpolate(a, _planes(fa), fa.props, b, _planes(fb), fb.props, t)
        except ColorError as e:
            raise _err(f"frame {a}: {e}") from None
        except Exception as e:  # noqa: BLE001 - frame errors must reach the caller as vs.Error with a hint
            msg = str(e)
            if "out of memory" in msg.lower() or type(e).__name__ == "OutOfMemoryError":
                raise _err(f"out of memory while interpolating output frame {n} ({engine.width}x{engine.height} on "
                           f"{engine.device}): try scale=0.5, precision='bf16'/'fp16', or a smaller clip") from None
            raise _err(f"interpolating output frame {n} failed: {type(e).__name__}: {msg}") from e
        out = fa.copy()
        for p, arr in enumerate(planes):
            np.copyto(np.asarray(out[p]), arr)
        mark(out, "fade" if fading else "dedup" if moved else "interpolated", a, b, t, synthesized=True)
        return out

    def _fade_weight(self, a: int, b: int, t: Fraction, f: list[vs.VideoFrame]) -> float:
        """The fade's intensity weight at ``t`` from the contrasts of ``a - 1, a, b, b + 1`` (neighbours only)."""
        if b != a + 1:
            return float(t)
        c = [contrast(PairMetrics.of(fr).blocks) for fr in f[2:6]]   # a, b, a - 1, b + 1
        prev = c[2] if a >= 1 else None
        nxt = c[3] if b + 1 < self.n_src else None
        return fade_weight(prev, c[0], c[1], nxt, float(t))

    def _cut(self, fa: vs.VideoFrame, fb: vs.VideoFrame, ma: PairMetrics | None, mb: PairMetrics | None) -> bool:
        """A cut between ``fa`` and ``fb``: their props, or (neighbours only, ``ma`` given) the metrics."""
        if fa.props.get("_SceneChangeNext", 0) or fb.props.get("_SceneChangePrev", 0):
            return True
        return ma is not None and mb is not None and is_cut(ma, mb.blocks, self.opts.sc_threshold)

    def decide(self, copies: dict[tuple[int, str], vs.VideoNode], pairs: dict[tuple[int, int], vs.VideoNode],
               n: int, f: list[vs.VideoFrame]) -> vs.VideoNode:
        """``dedup=True``: the pre-built copy or pair node for output frame ``n`` from the window's metrics."""
        opts, n_src = self.opts, self.n_src
        a = self._base(n)
        lo, hi = timing.window_bounds(a, n_src, opts.dedup_max_run)
        first = max(0, lo - 1) + 1
        k0 = -opts.dedup_max_run - 3          # offset of f[0]
        metrics = {a + k0 + i: PairMetrics.of(fr) for i, fr in enumerate(f)}
        dup, cut = [], []
        for i in range(first, hi + 1):          # window entry for frame i is pair i - 1
            pm = metrics[i - 1]
            nxt = metrics[i].blocks if i < n_src else None
            dup.append(pm.block <= opts.dedup_threshold and i < n_src)
            cut.append(opts.sc and is_cut(pm, nxt, opts.sc_threshold))
        win = timing.DedupWindow(first, dup, cut)
        step = timing.dedup_step(n, n_src, self.ratio, win, opts.dedup_max_run)
        if step.is_copy:
            if step == timing.plain_step(n, n_src, self.ratio):
                mode = "copy"
            else:
                mode = "cut-hold" if (first <= step.a + 1 <= hi and win.is_cut(step.a + 1)) else "dedup"
            return copies[(step.a - a, mode)]
        return pairs[(step.a - a, step.b - a)]


def build(clip: vs.VideoNode, engines: list[Engine], ratio: Fraction, opts: Options) -> vs.VideoNode:
    """The output clip: ``timing.output_length(len(clip), ratio)`` frames at ``fps * ratio`` (variable-rate input:
    each frame's duration divided by ``ratio``), every frame marked by :func:`vsrife.frameprops.mark`."""
    g = _Graph(clip, engines, ratio, opts)
    out = g.dedup() if (opts.dedup and g.metrics is not None) else g.plain()
    if clip.fps.numerator:
        fps = Fraction(clip.fps.numerator, clip.fps.denominator) * ratio
        out = core.std.AssumeFPS(out, fpsnum=fps.numerator, fpsden=fps.denominator)
    else:
        out = _scale_durations(out, ratio)
    if opts.debug:
        out = core.text.FrameProps(out, props=DEBUG_PROPS)
    return out


def _scale_durations(clip: vs.VideoNode, ratio: Fraction) -> vs.VideoNode:
    """Variable-rate input: each output frame lasts its source frame's duration divided by the ratio."""

    def _fix(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        num, den = f.props.get("_DurationNum"), f.props.get("_DurationDen")
        if not num or not den:
            return f
        d = Fraction(int(num), int(den)) / ratio
        out = f.copy()
        out.props["_DurationNum"], out.props["_DurationDen"] = d.numerator, d.denominator
        return out

    return core.std.ModifyFrame(clip, clip, _fix)
