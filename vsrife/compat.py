"""HolyWu's vs-rife 5.x parameters that have no counterpart in the rest of the filter: ``device_index`` and ``trt*``.

Everything here only validates and translates; the filter calls it before building anything.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class TrtOptions:
    """vs-rife 5.x's TensorRT build settings, validated."""

    static_shape: bool
    min_shape: tuple[int, int]
    opt_shape: tuple[int, int]
    max_shape: tuple[int, int]
    workspace_size: int
    max_aux_streams: int | None
    optimization_level: int | None
    cache_dir: Path | None


def trt_options(trt: bool, *, static_shape: bool, min_shape: Sequence[int], opt_shape: Sequence[int],
                max_shape: Sequence[int], workspace_size: int, max_aux_streams: int | None,
                optimization_level: int | None, cache_dir) -> TrtOptions | None:
    """Validate the ``trt*`` parameters; ``None`` when ``trt=False``."""
    if not isinstance(trt, bool):
        raise CompatError(f"trt must be True or False, not {trt!r}")
    if not trt:
        return None
    raise CompatError("trt=True needs an NVIDIA GPU and torch_tensorrt (not implemented yet)")
