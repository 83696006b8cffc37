"""The VapourSynth glue: ``rife(clip, ...)`` validates its parameters, loads the model and hands the clip to
:func:`vsrife.build.build`, which makes the whole output graph once (no nodes are created per output frame).

What each output frame is made of (see :mod:`vsrife.build`): a copy (``t == 0``, past the end, a pause) is the source
frame itself, bit-identical, only that frame requested; an interpolated frame is a ``std.ModifyFrame`` over
pre-built remapped source clips plus the pair's metrics (:mod:`vsrife.metrics`), whose callback decides cut / fade /
plain (:mod:`vsrife.transitions`) and runs the :class:`~vsrife.engine.Engine`. Every frame says what it is in its
props (:mod:`vsrife.frameprops`).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import vapoursynth as vs

from . import timing
from .build import Options, build
from .color import PlaneFormat
from .engine import DEFAULT_CACHE_FRAMES, MAX_BISECT_DEPTH, Engine, EngineError, resolve_device, resolve_precision

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


def _err(msg: str) -> vs.Error:
    return vs.Error(f"rife: {msg}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


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
    fade: bool = True,
    debug: bool = False,
) -> vs.VideoNode:
    """Interpolate ``clip`` to a new frame rate with RIFE.

    The positional order (``clip, device_index, model, auto_download, factor_num, ..., trt_cache_dir``) and the
    meaning of those parameters are HolyWu's vs-rife 5.x's, so scripts written for it run unchanged; the parameters
    after them are keyword-only.

    :param clip:            Any constant-format, constant-size clip (RGB, YUV or GRAY; 8-16 bit integer, 16/32 bit
                            float). The output has the same format; frames at whole source times are the source
                            frames themselves (bit-identical); every frame carries ``VsrifeMode``,
                            ``VsrifeSourceA/B`` and ``VsrifeT`` props (:mod:`vsrife.frameprops`).
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
    :param sc:              Never blend across scene cuts: frames between the two sides of a cut copy the left one
                            (``VsrifeMode`` "cut-hold"); ``_SceneChange*`` props on the frames always count.
    :param sc_threshold:    Scene-cut threshold on the contrast-normalised difference of neighbours (block means of
                            a small grey copy, divided by the frames' own contrast): cuts measure >= 0.35,
                            motion <= 0.21 on our test sets (docs/quality.md); default 0.3. The same threshold
                            applies to the difference after normalising each frame's brightness and contrast, so
                            fades, flashes and exposure changes are never cuts; nor is a pair with a flat frame
                            (black, white). ``None`` uses only ``_SceneChangeNext``/``_SceneChangePrev`` props.
    :param dedup:           Treat runs of (nearly) identical frames as one drawing (anime on twos/threes) and spread
                            the motion evenly between drawings. Needs a v4 model.
    :param dedup_threshold: Largest block-mean absolute luma difference (0-1) of a frame to its predecessor for it to
                            count as the same drawing.
    :param dedup_max_run:   Runs longer than this many frames are real pauses: the picture holds.
    :param trt:             Run the network through TensorRT (``torch_tensorrt``, NVIDIA GPUs only; fails loudly
                            where that cannot take effect). ``trt_*``: the same meaning as in vs-rife 5.x.
    :param device:          ``None`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
    :param precision:       ``None``: on the CPU bf16 where the CPU has native bf16 (AVX-512 BF16 or AMX; within
                            0.01 dB of fp32, ~1.5x as fast), else fp32; on a GPU fp16 for RGBH input, else fp32.
                            ``"fp32"``, ``"bf16"`` (CPU or GPU) or ``"fp16"`` (GPU only).
    :param num_threads:     torch intra-op threads (process-wide). ``None`` leaves torch's default (all cores).
    :param auto_download:   Download the model into the cache if it is missing.
    :param cache_frames:    Source frames whose converted tensors/features are kept (bounded LRU), >= 2.
    :param fade:            Fade-aware interpolation: pairs that differ by a global intensity change (fades to and
                            from black or white, flashes, exposure changes) are interpolated on intensity-normalised
                            frames and given the fade's brightness at ``t`` (:mod:`vsrife.fade`). ``False``: RIFE on
                            the raw frames, as before. Other pairs are the same either way.
    :param debug:           Overlay each frame's ``VsrifeMode``, source pair and ``t`` (``text.FrameProps``).
    """
    _check_clip(clip)
    devices, trt_options = _check_compat(device_index, device, trt, dict(
        static_shape=trt_static_shape, min_shape=trt_min_shape, opt_shape=trt_opt_shape, max_shape=trt_max_shape,
        workspace_size=trt_workspace_size, max_aux_streams=trt_max_aux_streams,
        optimization_level=trt_optimization_level, cache_dir=trt_cache_dir))
    ratio = _check_rate(clip, factor_num, factor_den, fps_num, fps_den)
    scale = _check_scale(scale)
    for name, val in (("ensemble", ensemble), ("sc", sc), ("dedup", dedup), ("auto_download", auto_download),
                      ("fade", fade), ("debug", debug)):
        _check_bool(name, val)
    _check_thresholds(sc_threshold, dedup_threshold, dedup_max_run)
    _check_resources(num_threads, cache_frames, model_path)
    if model_path is None:
        spec = _early_spec(model)
        if ratio != 1:
            _check_spec(spec, model, ensemble=ensemble, dedup=dedup, ratio=ratio)
    try:
        devices_t = [resolve_device(d) for d in devices]
        half = clip.format.bits_per_sample == 16 and clip.format.sample_type == vs.FLOAT
        dtype = resolve_precision(precision, devices_t[0], half)
    except EngineError as e:
        raise _err(str(e)) from None
    if ratio == 1:  # factor 1 (or the same fps) changes nothing
        return clip

    name, net = _load(model, model_path, auto_download)
    _check_spec(net.spec, name, ensemble=ensemble, dedup=dedup, ratio=ratio)
    if num_threads is not None:
        import torch

        torch.set_num_threads(num_threads)
    nets = [net] + [copy.deepcopy(net) for _ in devices_t[1:]]  # one network per device
    try:
        engines = [Engine(m, fmt=PlaneFormat.from_vs(clip.format), width=clip.width, height=clip.height, device=d,
                          dtype=dtype, scale=scale, ensemble=ensemble, cache_frames=cache_frames, trt=trt_options)
                   for m, d in zip(nets, devices_t)]
    except EngineError as e:
        raise _err(str(e)) from None
    opts = Options(sc=sc, sc_threshold=sc_threshold if sc else None, dedup=dedup,
                   dedup_threshold=float(dedup_threshold), dedup_max_run=dedup_max_run, fade=fade, debug=debug)
    return build(clip, engines, ratio, opts)


def _check_clip(clip: Any) -> None:
    """A constant-format, constant-size clip of at most 16-bit integers or floats."""
    if not isinstance(clip, vs.VideoNode):
        raise _err(f"clip must be a vapoursynth.VideoNode, not {type(clip).__name__}")
    fmt = clip.format
    if fmt is None or fmt.id == vs.PresetVideoFormat.NONE or fmt.color_family == vs.UNDEFINED:
        raise _err("clip must have a constant format (variable-format clips are not supported)")
    if clip.width == 0 or clip.height == 0:
        raise _err("clip must have a constant frame size (variable-size clips are not supported)")
    if fmt.sample_type == vs.INTEGER and fmt.bits_per_sample > 16:
        raise _err(f"clip: integer formats up to 16 bits are supported, not {fmt.bits_per_sample}")


def _check_compat(device_index: Any, device: Any, trt: Any, trt_kw: dict) -> tuple[list[str | None], Any]:
    """vs-rife 5.x's ``device_index`` and ``trt*`` -> (device strings, one per engine; TensorRT options or None)."""
    from . import compat as _compat

    try:
        return _compat.resolve_devices(device_index, device), _compat.trt_options(trt, **trt_kw)
    except _compat.CompatError as e:
        raise _err(str(e)) from None


def _check_rate(clip: vs.VideoNode, factor_num: Any, factor_den: Any, fps_num: Any, fps_den: Any) -> Fraction:
    """The exact output/input rate ratio from ``fps_num/fps_den`` (when given) or ``factor_num/factor_den``."""
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
        return Fraction(fps_num, fps_den) / Fraction(clip.fps.numerator, clip.fps.denominator)
    if not _is_int(factor_num) or factor_num < 1:
        raise _err(f"factor_num must be an integer >= 1, not {factor_num!r}")
    if not _is_int(factor_den) or factor_den < 1:
        raise _err(f"factor_den must be an integer >= 1, not {factor_den!r}")
    return Fraction(factor_num, factor_den)


def _check_scale(scale: Any) -> float:
    if not _is_number(scale) or float(scale) not in SCALES:
        raise _err(f"scale must be one of {list(SCALES)}, not {scale!r}")
    return float(scale)


def _check_bool(name: str, val: Any) -> None:
    if not isinstance(val, bool):
        raise _err(f"{name} must be True or False, not {val!r}")


def _check_thresholds(sc_threshold: Any, dedup_threshold: Any, dedup_max_run: Any) -> None:
    if sc_threshold is not None and (not _is_number(sc_threshold) or not 0.0 < sc_threshold < math.inf):
        raise _err(f"sc_threshold must be a positive number (default {DEFAULT_SC_THRESHOLD}) or None, "
                   f"not {sc_threshold!r}")
    if not _is_number(dedup_threshold) or not 0.0 <= dedup_threshold < 1.0:
        raise _err(f"dedup_threshold must be a number in [0, 1), not {dedup_threshold!r}")
    if not _is_int(dedup_max_run) or dedup_max_run < 1:
        raise _err(f"dedup_max_run must be an integer >= 1, not {dedup_max_run!r}")


def _check_resources(num_threads: Any, cache_frames: Any, model_path: Any) -> None:
    if num_threads is not None and (not _is_int(num_threads) or num_threads < 1):
        raise _err(f"num_threads must be an integer >= 1 or None, not {num_threads!r}")
    if not _is_int(cache_frames) or cache_frames < 2:
        raise _err(f"cache_frames must be an integer >= 2, not {cache_frames!r}")
    if model_path is not None and (not isinstance(model_path, (str, os.PathLike)) or not os.fspath(model_path)):
        raise _err(f"model_path must be None or the path (str or os.PathLike) of a weights file "
                   f"(.pkl/.pth/.pt/.safetensors), not {model_path!r}")


def _early_spec(model: Any):
    """The spec of a model name, before any weights are looked for."""
    from . import models as _models

    if not isinstance(model, str):
        raise _err(f"model must be a string such as '4.0', not {model!r}")
    try:
        return _models.get_spec(model)
    except _models.UnknownModelError as e:
        raise _err(f"model: {e}") from None


def _load(model: str, model_path: Any, auto_download: bool):
    """(name, network) from the cache / ``model_path``."""
    from . import models as _models
    from . import weights as _weights

    try:
        name, state_dict = _weights.resolve_weights(model, model_path, auto_download)
        return name, _models.create_model(name, state_dict)
    except (_weights.WeightsError, _models.ArchitectureError) as e:
        if model_path is None:
            raise _err(f"model: {e}") from None
        raise _err(f"model_path must be a RIFE weights file (a state dict saved as .pkl/.pth/.pt/.safetensors by "
                   f"torch.save or safetensors, for a model of `python -m vsrife list`): {e}") from None


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
        finest = 2 ** (MAX_BISECT_DEPTH + 1)
        if ratio.numerator > finest:
            raise _err(f"model {name!r} only makes t = 0.5 and halves at most {MAX_BISECT_DEPTH + 1} times "
                       f"(timesteps down to 1/{finest}, factors up to {finest}); the rate ratio {ratio} needs "
                       f"1/{ratio.numerator}: use a v4 model such as model='4.0'")
