"""Frame planes <-> normalised RGB tensors, in torch, driven by the frame's own props.

The model works on gamma-encoded R'G'B' in [0, 1]. Source frames may be RGB, YUV (any subsampling) or GRAY,
integer (8-16 bit) or float (16/32 bit). Conversion happens per source frame (and is cached by the engine), on the
model's device, so it costs one pass per source frame and never leaves per-frame work to Python loops.

Props and defaults (documented in the README):

* ``_Matrix`` (YUV only): 1 = BT.709, 5/6 = BT.601, 4 = FCC, 7 = SMPTE 240M, 9 = BT.2020 NCL. Missing or 2
  (unspecified): BT.709 when width >= 1280 or height >= 720, else BT.601. Other matrices raise an error.
* ``_Range`` (R81+: 1 = full, 0 = limited), else the older ``_ColorRange`` (0 = full, 1 = limited). Missing:
  limited for integer YUV/GRAY, full for RGB. Float formats are
  always full range (Y in [0, 1], chroma in [-0.5, 0.5]).
* ``_Transfer``/``_Primaries`` are kept as they are: the model sees the gamma-encoded signal, as every RIFE
  model was trained on, and the output carries the same props.
* Chroma is upsampled bilinearly (centre-aligned) and downsampled by box averaging, so a round trip keeps chroma
  where it was.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F

# Colour family constants of VapourSynth (vs.GRAY, vs.RGB, vs.YUV), repeated here so this module needs no vs import.
GRAY, RGB, YUV = 1, 2, 3

_MATRICES: dict[int, tuple[str, float, float]] = {
    1: ("709", 0.2126, 0.0722),
    4: ("fcc", 0.30, 0.11),
    5: ("470bg", 0.299, 0.114),
    6: ("170m", 0.299, 0.114),
    7: ("240m", 0.212, 0.087),
    9: ("2020ncl", 0.2627, 0.0593),
}


class ColorError(ValueError):
    """A frame whose props ask for a conversion we do not support."""


@dataclass(frozen=True)
class PlaneFormat:
    """The parts of a VapourSynth format the conversion needs (built from ``vs.VideoFormat``)."""

    color_family: int
    bits: int
    is_float: bool
    ssw: int = 0
    ssh: int = 0

    @classmethod
    def from_vs(cls, fmt) -> "PlaneFormat":
        return cls(int(fmt.color_family), fmt.bits_per_sample, int(fmt.sample_type) == 1,
                   fmt.subsampling_w, fmt.subsampling_h)

    @property
    def num_planes(self) -> int:
        return 1 if self.color_family == GRAY else 3


def matrix_coefficients(props: Mapping, width: int, height: int) -> tuple[float, float]:
    """(Kr, Kb) for a YUV frame from its ``_Matrix`` prop, with the documented default."""
    m = props.get("_Matrix", 2)
    if m == 2:
        m = 1 if (width >= 1280 or height >= 720) else 6
    if m not in _MATRICES:
        raise ColorError(f"_Matrix={m} is not supported (supported: {sorted(_MATRICES)}, or unset/2 for a default)")
    _, kr, kb = _MATRICES[m]
    return kr, kb


def is_full_range(props: Mapping, fmt: PlaneFormat) -> bool:
    if fmt.is_float:
        return True
    r = props.get("_Range")          # VapourSynth R81+: 1 = full, 0 = limited
    if r is not None:
        return int(r) == 1
    r = props.get("_ColorRange")     # older VapourSynth: 0 = full, 1 = limited
    if r is None:
        return fmt.color_family == RGB
    return int(r) == 0


def _levels(fmt: PlaneFormat, full: bool) -> tuple[float, float, float, float]:
    """(luma offset, luma scale, chroma offset, chroma scale) mapping integer codes to Y in [0,1], C in [-.5,.5]."""
    if fmt.is_float:
        return 0.0, 1.0, 0.0, 1.0
    peak = float((1 << fmt.bits) - 1)
    if full:
        return 0.0, peak, float(1 << (fmt.bits - 1)), peak
    s = float(1 << (fmt.bits - 8))
    return 16.0 * s, 219.0 * s, 128.0 * s, 224.0 * s


def planes_to_rgb(planes: list[np.ndarray], fmt: PlaneFormat, props: Mapping, device: torch.device,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Source planes -> ``[1, 3, H, W]`` R'G'B' in [0, 1] (not clamped) on ``device``."""
    with warnings.catch_warnings():
        # Planes are read-only views of the VapourSynth frame: zero-copy, and torch never writes to them.
        warnings.simplefilter("ignore", UserWarning)
        tens = [torch.from_numpy(np.asarray(p)).to(device, non_blocking=True) for p in planes]
    full = is_full_range(props, fmt)
    yo, ys, co, cs = _levels(fmt, full)
    y = (tens[0].to(torch.float32) - yo) / ys
    if fmt.color_family == GRAY:
        rgb = y.unsqueeze(0).expand(3, -1, -1)
    elif fmt.color_family == RGB:
        # For RGB all three planes use the luma levels.
        rgb = torch.stack([(t.to(torch.float32) - yo) / ys for t in tens])
    else:
        h, w = y.shape
        kr, kb = matrix_coefficients(props, w, h)
        uv = torch.stack([(t.to(torch.float32) - co) / cs for t in tens[1:]]).unsqueeze(0)
        if uv.shape[-2:] != (h, w):
            uv = F.interpolate(uv, size=(h, w), mode="bilinear", align_corners=False)
        u, v = uv[0, 0], uv[0, 1]
        kg = 1.0 - kr - kb
        r = y + 2.0 * (1.0 - kr) * v
        b = y + 2.0 * (1.0 - kb) * u
        g = (y - kr * r - kb * b) / kg
        rgb = torch.stack([r, g, b])
    return rgb.unsqueeze(0).to(dtype).contiguous()


def rgb_to_planes(rgb: torch.Tensor, fmt: PlaneFormat, props: Mapping) -> list[np.ndarray]:
    """``[1, 3, H, W]`` R'G'B' -> planes in the source format (rounded and clipped for integers), on the CPU."""
    x = rgb[0].to(torch.float32)
    full = is_full_range(props, fmt)
    yo, ys, co, cs = _levels(fmt, full)
    if fmt.color_family == RGB:
        chans = [x[i] * ys + yo for i in range(3)]
    else:
        h, w = x.shape[-2:]
        if fmt.color_family == GRAY:
            kr, kb = matrix_coefficients(props, w, h) if "_Matrix" in props else (0.2126, 0.0722)
        else:
            kr, kb = matrix_coefficients(props, w, h)
        kg = 1.0 - kr - kb
        r, g, b = x[0], x[1], x[2]
        y = kr * r + kg * g + kb * b
        chans = [y * ys + yo]
        if fmt.color_family == YUV:
            uv = torch.stack([(b - y) / (2.0 * (1.0 - kb)), (r - y) / (2.0 * (1.0 - kr))]).unsqueeze(0)
            kw, kh = 1 << fmt.ssw, 1 << fmt.ssh
            if kw > 1 or kh > 1:
                uv = F.avg_pool2d(uv, kernel_size=(kh, kw), stride=(kh, kw))
            chans += [uv[0, 0] * cs + co, uv[0, 1] * cs + co]
    out = []
    for c in chans:
        if fmt.is_float:
            c = c.to(torch.float16 if fmt.bits == 16 else torch.float32)
        else:
            c = c.round_().clamp_(0, (1 << fmt.bits) - 1).to(torch.uint8 if fmt.bits == 8 else torch.int32)
        out.append(c.cpu().numpy())
    if not fmt.is_float and fmt.bits > 8:
        out = [o.astype(np.uint16) for o in out]
    return out
