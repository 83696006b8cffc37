"""The VapourSynth glue: ``rife(clip, ...)`` builds a clip whose frame ``n`` requests exactly the source frames it needs.

Graph per output frame ``n`` (built lazily inside ``std.FrameEval``):

* a copy (``t == 0``, past the end, a pause) returns the source frame itself: bit-identical, only that frame requested;
* an interpolated frame is a ``std.ModifyFrame`` over the two source frames (plus the scene-change metrics of the
  pair) whose callback runs the :class:`~vsrife.engine.Engine`;
* with ``dedup=True`` a first ``FrameEval`` reads the duplicate/cut metrics of a bounded window of source frames
  around ``n`` (as frame props) and only then decides which pair and timestep to use.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from functools import partial
from collections.abc import Sequence
from typing import Any

import numpy as np
import vapoursynth as vs

from . import timing
from .color import ColorError, PlaneFormat
from .engine import DEFAULT_CACHE_FRAMES, Engine, EngineError, resolve_device, resolve_precision

core = vs.core

__all__ = ["rife", "SCALES", "DEFAULT_SC_THRESHOLD", "DEFAULT_DEDUP_THRESHOLD", "DEFAULT_DEDUP_MAX_RUN"]

#: Allowed values of ``scale`` (process resolution of the flow network relative to the clip).
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
#: Contrast-normalised block difference between neighbours above which a pair is a scene cut (see docs/quality.md:
#: cuts measured >= 0.35, non-cuts incl. 8 px/frame pans <= 0.21, real footage <= 0.035).
DEFAULT_SC_THRESHOLD = 0.3
#: Largest block-mean absolute luma difference (0-1) below which a frame repeats its predecessor's drawing.
DEFAULT_DEDUP_THRESHOLD = 0.005
#: Runs of more identical frames than this are real pauses, not animation on twos/threes.
DEFAULT_DEDUP_MAX_RUN = 4
#: Metrics are computed on a grey copy this wide (height keeps the aspect ratio).
_METRIC_WIDTH = 256
#: ... and block means on a grid this wide for the duplicate test.
_BLOCK_GRID = 16

_P_DIFF = "VsrifeDiff"          # cut metric: block-mean |Y(j) - Y(j+1)| / contrast of the two frames
_P_BLOCK = "VsrifeBlockDiff"    # max over blocks of the block-mean |Y(j) - Y(j+1)|
_P_CUT = "VsrifeCutProp"        # _SceneChangeNext on j or _SceneChangePrev on j + 1


def _err(msg: str) -> vs.Error:
    return vs.Error(f"rife: {msg}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _pair_metrics(clip: vs.VideoNode) -> vs.VideoNode:
    """Frame ``j`` carries the difference between source frames ``j`` and ``j + 1`` (0 for the last)."""
    w = min(_METRIC_WIDTH, clip.width)
    h = max(8, round(clip.height * w / clip.width / 2) * 2)
    fam = clip.format.color_family
    if fam == vs.RGB:
        g = core.resize.Bilinear(clip, w, h, format=vs.GRAYS, matrix_s="709")
    else:
        g = core.std.ShufflePlanes(clip, 0, vs.GRAY) if fam == vs.YUV else clip
        g = core.resize.Bilinear(g, w, h, format=vs.GRAYS)
    nxt = g[1:] + g[-1] if clip.num_frames > 1 else g
    diff = core.std.Expr([g, nxt], "x y - abs")
    bw = min(_BLOCK_GRID, w)
    bh = max(1, round(bw * h / w))
    blocks = core.resize.Bilinear(diff, bw, bh)
    st = core.std.PlaneStats(diff, prop="M")
    bst = core.std.PlaneStats(blocks, prop="B")
    gb = core.resize.Bilinear(g, bw, bh)  # block means of each grey frame, for the contrast-normalised cut metric
    gb_next = gb[1:] + gb[-1] if clip.num_frames > 1 else gb

    src_next = clip[1:] + clip[-1] if clip.num_frames > 1 else clip

    def _merge(n: int, f: list[vs.VideoFrame]) -> vs.VideoFrame:
        out = f[0].copy()
        # Cut metric: block-mean difference relative to the frames' own contrast, so that cuts between two dark
        # (low-contrast) shots are found as reliably as bright ones while fast pans stay below the threshold.
        a = np.asarray(f[4][0], dtype=np.float64)
        b = np.asarray(f[5][0], dtype=np.float64)
        spread = float(np.mean(np.abs(a - a.mean())) + np.mean(np.abs(b - b.mean())))
        out.props[_P_DIFF] = float(np.mean(np.abs(a - b))) / max(spread, 0.01)
        out.props[_P_BLOCK] = float(f[1].props["BMax"])
        out.props[_P_CUT] = int(bool(f[2].props.get("_SceneChangeNext", 0) or f[3].props.get("_SceneChangePrev", 0)))
        return out

    return core.std.ModifyFrame(st, [st, bst, clip, src_next, gb, gb_next], _merge)


def _cut_between(fa: vs.VideoFrame, fb: vs.VideoFrame, fm: vs.VideoFrame | None, threshold: float | None) -> bool:
    if fa.props.get("_SceneChangeNext", 0) or fb.props.get("_SceneChangePrev", 0):
        return True
    return fm is not None and threshold is not None and float(fm.props[_P_DIFF]) > threshold


def rife(
    clip: vs.VideoNode,
    device_index: int | Sequence[int] | None = None,
    model: str = "4.0",
    auto_download: bool = False,
    factor_num: int = 2,
    factor_den: int = 1,
    fps_num: int | None = None,
    fps_den: int | None = None,
    scale: float = 1.0,
    ensemble: bool = False,
    sc: bool = True,
    sc_threshold: float | None = DEFAULT_SC_THRESHOLD,
    trt: bool = False,
    trt_static_shape: bool = True,
    trt_min_shape: Sequence[int] = (128, 128),
    trt_opt_shape: Sequence[int] = (1920, 1080),
    trt_max_shape: Sequence[int] = (1920, 1080),
    trt_workspace_size: int = 0,
    trt_max_aux_streams: int | None = None,
    trt_optimization_level: int | None = None,
    trt_cache_dir: str | os.PathLike | None = None,
    *,
    model_path: str | None = None,
    dedup: bool = False,
    dedup_threshold: float = DEFAULT_DEDUP_THRESHOLD,
    dedup_max_run: int = DEFAULT_DEDUP_MAX_RUN,
    device: str | None = None,
    precision: str | None = None,
    num_threads: int | None = None,
    cache_frames: int = DEFAULT_CACHE_FRAMES,
) -> vs.VideoNode:
    """Interpolate ``clip`` to a new frame rate with RIFE.

    The positional order (``clip, device_index, model, auto_download, factor_num, ..., trt_cache_dir``) and the
    meaning of those parameters are HolyWu's vs-rife 5.x's, so scripts written for it run unchanged; the parameters
    after them are keyword-only.

    :param clip:            Any constant-format, constant-size clip (RGB, YUV or GRAY; 8-16 bit integer, 16/32 bit
                            float). The output has the same format; frames at whole source times are the source
                            frames themselves (bit-identical), others keep the props of their left source frame.
    :param device_index:    vs-rife's GPU ordinal: an int (``cuda:N``) or a list of ints (those GPUs take output
                            frames in turn). ``None``: see ``device``. Give ``device_index`` or ``device``, not both.
    :param model:           Model name: ``"4.0"`` (default), ``"3.6"`` (the ECCV2022-RIFE HD model, t = 0.5 only)
                            and the other Practical-RIFE v4 names (``python -m vsrife list``).
    :param model_path:      A weights file (.pkl/.pth/.safetensors) to use instead of the cache; its architecture is
                            detected from its keys and shapes (and its file name where versions share every shape).
    :param factor_num:      Output rate = input rate * factor_num / factor_den. Integers >= 1. Factor 1 returns the
    :param factor_den:      clip unchanged; factors below 1 lower the rate with motion.
    :param fps_num:         Exact target rate ``fps_num / fps_den`` (both required together; overrides the factor;
    :param fps_den:         needs a clip with a known frame rate).
    :param scale:           Flow resolution relative to the clip: one of 0.25, 0.5, 1.0, 2.0, 4.0. Use 0.5 for 4K.
    :param ensemble:        Average a second pass with the inputs swapped (v4 models up to 4.20 only).
    :param sc:              Never blend across scene cuts: frames between the two sides of a cut copy the left one.
    :param sc_threshold:    Scene-cut threshold on the contrast-normalised difference of neighbours (block means of
                            a small grey copy, divided by the frames' own contrast): cuts measure >= 0.35,
                            motion <= 0.21 on our test sets (docs/quality.md); default 0.3.
                            ``None`` uses only ``_SceneChangeNext``/``_SceneChangePrev`` props already on the frames.
    :param dedup:           Treat runs of (nearly) identical frames as one drawing (anime on twos/threes) and spread
                            the motion evenly between drawings. Needs a v4 model.
    :param dedup_threshold: Largest block-mean absolute luma difference (0-1) of a frame to its predecessor for it to
                            count as the same drawing.
    :param dedup_max_run:   Runs longer than this many frames are real pauses: the picture holds.
    :param trt:             Run the network through TensorRT (``torch_tensorrt``, NVIDIA GPUs only; fails loudly
                            where that cannot take effect). ``trt_*``: the same meaning as in vs-rife 5.x.
    :param device:          ``None`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
    :param precision:       ``None`` (fp32; fp16 for RGBH input on a GPU), ``"fp32"``, ``"bf16"`` (CPU or GPU) or
                            ``"fp16"`` (GPU only).
    :param num_threads:     torch intra-op threads (process-wide). ``None`` leaves torch's default (all cores).
    :param auto_download:   Download the model into the cache if it is missing.
    :param cache_frames:    Source frames whose converted tensors/features are kept (bounded LRU), >= 2.
    """
    # ---- the clip --------------------------------------------------------------------------------------------
    if not isinstance(clip, vs.VideoNode):
        raise _err(f"clip must be a vapoursynth.VideoNode, not {type(clip).__name__}")
    fmt = clip.format
    if fmt is None or fmt.id == vs.PresetVideoFormat.NONE or fmt.color_family == vs.UNDEFINED:
        raise _err("clip must have a constant format (variable-format clips are not supported)")
    if clip.width == 0 or clip.height == 0:
        raise _err("clip must have a constant frame size (variable-size clips are not supported)")
    if fmt.sample_type == vs.INTEGER and fmt.bits_per_sample > 16:
        raise _err(f"clip: integer formats up to 16 bits are supported, not {fmt.bits_per_sample}")

    # ---- vs-rife 5.x's device_index and TensorRT parameters --------------------------------------------------
    from . import compat as _compat

    try:
        devices = _compat.resolve_devices(device_index, device)
        trt_options = _compat.trt_options(
            trt, static_shape=trt_static_shape, min_shape=trt_min_shape, opt_shape=trt_opt_shape,
            max_shape=trt_max_shape, workspace_size=trt_workspace_size, max_aux_streams=trt_max_aux_streams,
            optimization_level=trt_optimization_level, cache_dir=trt_cache_dir)
    except _compat.CompatError as e:
        raise _err(str(e)) from None
    if len(devices) == 1:
        device = devices[0]
    else:  # several GPUs taking frames in turn: not wired into the graph yet
        raise _err(f"device_index={list(device_index)!r}: several devices are not supported yet")
    if trt_options is not None:
        raise _err("trt=True: the TensorRT path is not wired into the engine yet")

    # ---- the rate --------------------------------------------------------------------------------------------
    if (fps_num is None) != (fps_den is None):
        raise _err("fps_num and fps_den must be given together (e.g. fps_num=60000, fps_den=1001)")
    if fps_num is not None:
        if not _is_int(fps_num) or fps_num < 1:
            raise _err(f"fps_num must be an integer >= 1, not {fps_num!r}")
        if not _is_int(fps_den) or fps_den < 1:
            raise _err(f"fps_den must be an integer >= 1, not {fps_den!r}")
        if clip.fps.numerator == 0:
            raise _err("fps_num/fps_den need a clip with a known frame rate (this clip has fps 0/1: variable rate); "
                       "use factor_num/factor_den or AssumeFPS first")
        ratio = Fraction(fps_num, fps_den) / Fraction(clip.fps.numerator, clip.fps.denominator)
    else:
        if not _is_int(factor_num) or factor_num < 1:
            raise _err(f"factor_num must be an integer >= 1, not {factor_num!r}")
        if not _is_int(factor_den) or factor_den < 1:
            raise _err(f"factor_den must be an integer >= 1, not {factor_den!r}")
        ratio = Fraction(factor_num, factor_den)

    # ---- the other parameters ---------------------------------------------------------------------------------
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or float(scale) not in SCALES:
        raise _err(f"scale must be one of {list(SCALES)}, not {scale!r}")
    scale = float(scale)
    for name, val in (("ensemble", ensemble), ("sc", sc), ("dedup", dedup), ("auto_download", auto_download)):
        if not isinstance(val, bool):
            raise _err(f"{name} must be True or False, not {val!r}")
    if sc_threshold is not None and (isinstance(sc_threshold, bool) or not isinstance(sc_threshold, (int, float))
                                     or not 0.0 < sc_threshold < math.inf):
        raise _err(f"sc_threshold must be a positive number (default {DEFAULT_SC_THRESHOLD}) or None, "
                   f"not {sc_threshold!r}")
    if isinstance(dedup_threshold, bool) or not isinstance(dedup_threshold, (int, float)) \
            or not 0.0 <= dedup_threshold < 1.0:
        raise _err(f"dedup_threshold must be a number in [0, 1), not {dedup_threshold!r}")
    if not _is_int(dedup_max_run) or dedup_max_run < 1:
        raise _err(f"dedup_max_run must be an integer >= 1, not {dedup_max_run!r}")
    if num_threads is not None and (not _is_int(num_threads) or num_threads < 1):
        raise _err(f"num_threads must be an integer >= 1 or None, not {num_threads!r}")
    if not _is_int(cache_frames) or cache_frames < 2:
        raise _err(f"cache_frames must be an integer >= 2, not {cache_frames!r}")
    if model_path is not None and (not isinstance(model_path, (str, os.PathLike)) or not os.fspath(model_path)):
        raise _err(f"model_path must be None or the path (str or os.PathLike) of a weights file "
                   f"(.pkl/.pth/.pt/.safetensors), not {model_path!r}")

    from . import models as _models
    from . import weights as _weights

    if model_path is None:
        if not isinstance(model, str):
            raise _err(f"model must be a string such as '4.0', not {model!r}")
        try:
            early_spec = _models.get_spec(model)
        except _models.UnknownModelError as e:
            raise _err(f"model: {e}") from None
        if ratio != 1:
            _check_spec(early_spec, model, ensemble=ensemble, dedup=dedup, ratio=ratio)
    try:
        device_t = resolve_device(device)
        dtype = resolve_precision(precision, device_t, fmt.bits_per_sample == 16 and fmt.sample_type == vs.FLOAT)
    except EngineError as e:
        raise _err(str(e)) from None

    # Factor 1 (or the same fps) changes nothing.
    if ratio == 1:
        return clip

    try:
        name, state_dict = _weights.resolve_weights(model, model_path, auto_download)
        net = _models.create_model(name, state_dict)
    except (_weights.WeightsError, _models.ArchitectureError) as e:
        if model_path is None:
            raise _err(f"model: {e}") from None
        raise _err(f"model_path must be a RIFE weights file (a state dict saved as .pkl/.pth/.pt/.safetensors by "
                   f"torch.save or safetensors, for a model of `python -m vsrife list`): {e}") from None
    spec = net.spec
    _check_spec(spec, name, ensemble=ensemble, dedup=dedup, ratio=ratio)

    if num_threads is not None:
        import torch

        torch.set_num_threads(num_threads)

    engine = Engine(net, fmt=PlaneFormat.from_vs(fmt), width=clip.width, height=clip.height, device=device_t,
                    dtype=dtype, scale=scale, ensemble=ensemble, cache_frames=cache_frames)
    return _build(clip, engine, ratio, sc=sc, sc_threshold=sc_threshold, dedup=dedup,
                  dedup_threshold=float(dedup_threshold), dedup_max_run=dedup_max_run)


def _check_spec(spec, name: str, *, ensemble: bool, dedup: bool, ratio: Fraction) -> None:
    """Refuse what this model cannot do (called before looking for weights, and again on the loaded network)."""
    from . import models as _models

    if ensemble and not spec.ensemble:
        ok = [n for n in _models.MODEL_NAMES if _models.get_spec(n).ensemble]
        raise _err(f"ensemble=True is not supported by model {name!r} (allowed: ensemble=False; models with "
                   f"ensemble: {', '.join(ok)})")
    if not spec.arbitrary_timestep:
        if dedup:
            raise _err(f"dedup=True needs arbitrary timesteps, which model {name!r} cannot make (t = 0.5 only); "
                       "use a v4 model such as model='4.0'")
        if not timing.ratio_is_dyadic(ratio):
            raise _err(f"model {name!r} only makes t = 0.5, so it reaches rates x2, x4, x8 ... by halving; "
                       f"the rate ratio {ratio} needs other timesteps: use a v4 model such as model='4.0'")


def _interpolate(engine: Engine, step: timing.Step, check_cut: bool, sc_threshold: float | None,
                 n: int, f: list[vs.VideoFrame]) -> vs.VideoFrame:
    fa, fb = f[0], f[1]
    if check_cut and _cut_between(fa, fb, f[2] if len(f) > 2 else None, sc_threshold):
        return fa
    planes = lambda fr: [np.asarray(fr[p]) for p in range(fr.format.num_planes)]  # noqa: E731
    try:
        out_planes = engine.interpolate(step.a, planes(fa), fa.props, step.b, planes(fb), fb.props, step.t)
    except ColorError as e:
        raise _err(f"frame {step.a}: {e}") from None
    except Exception as e:  # noqa: BLE001 - frame errors must reach the caller as vs.Error with a hint
        msg = str(e)
        if "out of memory" in msg.lower() or type(e).__name__ == "OutOfMemoryError":
            raise _err(f"out of memory while interpolating output frame {n} ({engine.width}x{engine.height} on "
                       f"{engine.device}): try scale=0.5, precision='bf16'/'fp16', or a smaller clip") from None
        raise _err(f"interpolating output frame {n} failed: {type(e).__name__}: {msg}") from e
    out = fa.copy()
    for p, arr in enumerate(out_planes):
        np.copyto(np.asarray(out[p]), arr)
    return out


def _build(clip: vs.VideoNode, engine: Engine, ratio: Fraction, *, sc: bool, sc_threshold: float | None,
           dedup: bool, dedup_threshold: float, dedup_max_run: int) -> vs.VideoNode:
    n_src = clip.num_frames
    n_out = timing.output_length(n_src, ratio)
    use_metrics = dedup or (sc and sc_threshold is not None)
    metrics = _pair_metrics(clip) if (use_metrics and n_src > 1) else None
    check_cut = sc
    threshold = sc_threshold if sc else None

    def _at(c: vs.VideoNode, i: int, n: int) -> vs.VideoNode:
        """A clip whose frame n is frame i of c."""
        return c[i].std.Loop(n + 1)

    def _make(n: int, step: timing.Step, with_cut_check: bool) -> vs.VideoNode:
        if step.is_copy:
            return _at(clip, step.a, n)
        clips = [_at(clip, step.a, n), _at(clip, step.b, n)]
        if with_cut_check and metrics is not None and step.b == step.a + 1:
            clips.append(_at(metrics, step.a, n))
        return core.std.ModifyFrame(clips[0], clips,
                                    partial(_interpolate, engine, step, with_cut_check, threshold))

    if fps := (clip.fps if clip.fps.numerator else None):
        out_fps = Fraction(fps.numerator, fps.denominator) * ratio
    else:
        out_fps = None
    template = core.std.BlankClip(clip, length=n_out, keep=True)

    if not dedup or metrics is None:
        def _plain(n: int) -> vs.VideoNode:
            return _make(n, timing.plain_step(n, n_src, ratio), check_cut)

        out = core.std.FrameEval(template, _plain)
    else:
        def _decide(out_n: int, lo: int, n: int, f: list[vs.VideoFrame] | vs.VideoFrame) -> vs.VideoNode:
            # VapourSynth passes n (of the 1-frame-per-request helper clip) by keyword; out_n is the output frame.
            frames = f if isinstance(f, list) else [f]
            # frames[k] holds the metrics of the pair (lo + k, lo + k + 1); window entry for frame i is pair i-1.
            first = lo + 1
            dup, cut = [], []
            for k, fr in enumerate(frames):
                i = lo + k + 1
                d = float(fr.props[_P_DIFF])
                is_cut = check_cut and (bool(fr.props[_P_CUT]) or (threshold is not None and d > threshold))
                dup.append(float(fr.props[_P_BLOCK]) <= dedup_threshold and i < n_src)
                cut.append(is_cut)
            window = timing.DedupWindow(first, dup, cut)
            step = timing.dedup_step(out_n, n_src, ratio, window, dedup_max_run)
            return _make(out_n, step, check_cut)

        def _dedup(n: int) -> vs.VideoNode:
            a = min(math.floor(timing.source_time(n, ratio)), n_src - 1)
            lo, hi = timing.window_bounds(a, n_src, dedup_max_run)
            lo = max(0, lo - 1)
            props = [_at(metrics, j, n) for j in range(lo, hi)]
            if not props:
                return _at(clip, a, n)
            return core.std.FrameEval(_at(template, 0, n), partial(_decide, n, lo), prop_src=props)

        out = core.std.FrameEval(template, _dedup)

    if out_fps is not None:
        out = core.std.AssumeFPS(out, fpsnum=out_fps.numerator, fpsden=out_fps.denominator)
    else:
        out = _scale_durations(out, ratio)
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
