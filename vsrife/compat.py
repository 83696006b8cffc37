"""HolyWu's vs-rife 5.x parameters that have no counterpart in the rest of the filter: ``device_index`` and ``trt*``.

Everything here only validates and translates; the filter calls it before building anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class CompatError(ValueError):
    """A vs-rife 5.x parameter that is invalid or cannot take effect here (the filter adds the ``rife:`` prefix)."""


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def resolve_devices(device_index: int | Sequence[int] | None, device: str | None) -> list[str | None]:
    """``device_index`` (vs-rife: a CUDA ordinal, or a list of them) and ``device`` (ours) -> torch device strings.

    Returns ``[device]`` when ``device_index`` is None (``None`` meaning the engine's default choice), else one
    ``"cuda:N"`` per index. Giving both is an error.
    """
    if device_index is None:
        return [device]
    if device is not None:
        raise CompatError(f"give device_index (vs-rife's GPU ordinal) or device, not both "
                          f"(device_index={device_index!r}, device={device!r})")
    if isinstance(device_index, str):
        raise CompatError(f"device_index must be an int >= 0 or a list of them (vs-rife's GPU ordinal), not "
                          f"{device_index!r}; the model is the third positional parameter (model=...)")
    indices = [device_index] if _is_int(device_index) else list(device_index) \
        if isinstance(device_index, Sequence) else None
    if not indices or not all(_is_int(i) and i >= 0 for i in indices):
        raise CompatError(f"device_index must be an int >= 0 or a non-empty list of them, not {device_index!r}")
    if len(set(indices)) != len(indices):
        raise CompatError(f"device_index lists a GPU twice: {device_index!r}")
    return [f"cuda:{i}" for i in indices]


#: vs-rife 5.x's largest ``trt_optimization_level`` (TensorRT's builder levels are 0..5, default 3).
MAX_OPTIMIZATION_LEVEL = 5


@dataclass(frozen=True)
class TrtOptions:
    """vs-rife 5.x's TensorRT build settings, validated. Shapes are (width, height) as vs-rife takes them."""

    static_shape: bool
    min_shape: tuple[int, int]
    opt_shape: tuple[int, int]
    max_shape: tuple[int, int]
    workspace_size: int
    max_aux_streams: int | None
    optimization_level: int | None
    cache_dir: Path | None


def _shape(name: str, value: object) -> tuple[int, int]:
    """A ``[width, height]`` pair of ints >= 1 (vs-rife: "a list with 2 items", "at least 1")."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2 \
            or not all(_is_int(v) and v >= 1 for v in value):
        raise CompatError(f"{name} must be a list of 2 integers >= 1 ([width, height]), not {value!r}")
    return int(value[0]), int(value[1])


def check_trt_settings(*, static_shape: bool, min_shape: Sequence[int], opt_shape: Sequence[int],
                       max_shape: Sequence[int], workspace_size: int, max_aux_streams: int | None,
                       optimization_level: int | None, cache_dir: str | os.PathLike | None) -> TrtOptions:
    """Validate the ``trt_*`` values (no GPU needed) -> :class:`TrtOptions`.

    Dynamic shapes (``static_shape=False``) need ``min <= opt <= max`` in each dimension and ``min < max``
    (vs-rife's rule); with static shapes the three shapes are not used (as in vs-rife) but must still be well-formed.
    """
    if not isinstance(static_shape, bool):
        raise CompatError(f"trt_static_shape must be True or False, not {static_shape!r}")
    mn, op, mx = _shape("trt_min_shape", min_shape), _shape("trt_opt_shape", opt_shape), \
        _shape("trt_max_shape", max_shape)
    if not static_shape:
        if any(a >= b for a, b in zip(mn, mx)):
            raise CompatError(f"trt_min_shape must be less than trt_max_shape in both dimensions, not "
                              f"{list(mn)} and {list(mx)}")
        if not all(a <= o <= b for a, o, b in zip(mn, op, mx)):
            raise CompatError(f"trt_opt_shape must lie between trt_min_shape and trt_max_shape, not {list(op)} "
                              f"(min {list(mn)}, max {list(mx)})")
    if not _is_int(workspace_size) or workspace_size < 0:
        raise CompatError(f"trt_workspace_size must be an integer >= 0 (bytes; 0: TensorRT's default), "
                          f"not {workspace_size!r}")
    if max_aux_streams is not None and (not _is_int(max_aux_streams) or max_aux_streams < 0):
        raise CompatError(f"trt_max_aux_streams must be None (TensorRT's heuristics) or an integer >= 0, "
                          f"not {max_aux_streams!r}")
    if optimization_level is not None and (not _is_int(optimization_level)
                                           or not 0 <= optimization_level <= MAX_OPTIMIZATION_LEVEL):
        raise CompatError(f"trt_optimization_level must be None (TensorRT's default, 3) or an integer 0.."
                          f"{MAX_OPTIMIZATION_LEVEL}, not {optimization_level!r}")
    if cache_dir is not None and (not isinstance(cache_dir, (str, os.PathLike)) or not os.fspath(cache_dir)):
        raise CompatError(f"trt_cache_dir must be None (the model cache's trt/ folder) or a directory path, "
                          f"not {cache_dir!r}")
    return TrtOptions(static_shape, mn, op, mx, int(workspace_size),
                      None if max_aux_streams is None else int(max_aux_streams),
                      None if optimization_level is None else int(optimization_level),
                      None if cache_dir is None else Path(os.fspath(cache_dir)).expanduser())


def trt_options(trt: bool, *, static_shape: bool, min_shape: Sequence[int], opt_shape: Sequence[int],
                max_shape: Sequence[int], workspace_size: int, max_aux_streams: int | None,
                optimization_level: int | None, cache_dir: str | os.PathLike | None) -> TrtOptions | None:
    """Validate the ``trt*`` parameters; ``None`` when ``trt=False`` (the ``trt_*`` values are then not used, as in
    vs-rife). With ``trt=True`` the settings are checked first, then that TensorRT can run here at all (an NVIDIA
    GPU through CUDA and the ``torch_tensorrt`` package: :func:`vsrife.trt.unavailable`); otherwise
    :class:`CompatError` says what is missing."""
    if not isinstance(trt, bool):
        raise CompatError(f"trt must be True or False, not {trt!r}")
    if not trt:
        return None
    opts = check_trt_settings(static_shape=static_shape, min_shape=min_shape, opt_shape=opt_shape,
                              max_shape=max_shape, workspace_size=workspace_size, max_aux_streams=max_aux_streams,
                              optimization_level=optimization_level, cache_dir=cache_dir)
    from . import trt as _trt

    try:
        _trt.check_shapes(opts)
    except _trt.TrtError as e:
        raise CompatError(str(e)) from None
    reason = _trt.unavailable()
    if reason is not None:
        raise CompatError(f"trt=True needs an NVIDIA GPU (CUDA) and the torch_tensorrt package: {reason}; "
                          f"use trt=False (the default) to run without TensorRT")
    return opts


def model_dir():
    """vs-rife 5.x's ``vsrife.model_dir``: where the weight files live (here: the model cache, a ``Path``)."""
    from . import weights

    return weights.model_dir()


_VSRIFE_MODEL_FILE = re.compile(r"flownet_v(?P<name>[0-9][0-9a-z.]*)\.pkl$")


def download_model(url: str) -> None:
    """vs-rife 5.x's ``download_model(url)`` (``vsrife/__main__.py``): fetch the model a vs-rife release URL names
    (``.../flownet_v4.6.pkl``) into our cache, from our own sources (``python -m vsrife list``).

    The URL's host is not contacted: only the model name is taken from it. Raises :class:`CompatError` for a URL
    that names no model of ours."""
    from . import models, weights

    m = _VSRIFE_MODEL_FILE.search(str(url).split("?")[0])
    if m is None or m["name"] not in models.MODEL_NAMES:
        raise CompatError(f"download_model: {url!r} names no known model file (flownet_v<model>.pkl with a model "
                          f"of `python -m vsrife list`)")
    weights.download(m["name"], progress=True)
