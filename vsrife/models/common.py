"""Building blocks shared by the HD and v4 networks: layers, resizing, backward warping, the model base class."""
from __future__ import annotations

import threading
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .specs import EncoderArch, ModelSpec

__all__ = ["RifeModel", "FeatureEncoder", "NoEncoder", "Encoder", "conv_act", "resize", "cat_resize", "Warper",
           "swap_pairs", "SCALES", "conv_format"]

#: Flow scales the networks are defined for (powers of two, as in the reference scripts).
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def conv_act(cin: int, cout: int, prelu: bool, stride: int = 1) -> nn.Sequential:
    """3x3 convolution + PReLU or LeakyReLU(0.2) (keys ``0.weight``, ``0.bias`` and ``1.weight`` for PReLU)."""
    act: nn.Module = nn.PReLU(cout) if prelu else nn.LeakyReLU(0.2, inplace=True)
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), act)


def conv_format(layer: nn.Module) -> torch.memory_format:
    """The memory format of a layer's conv weights: channels_last when the engine chose it (CPU), else NCHW.

    Blocks switch their small inputs to it, so convolutions run in the fast layout while full-resolution glue
    (concatenation, resizing, warping) stays NCHW.
    """
    w = next(layer.parameters())
    if w.dim() == 4 and not w.is_contiguous() and w.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def resize(x: Tensor, factor: float) -> Tensor:
    """Bilinear resize by ``factor`` (align_corners=False, as the reference); the identity when factor is 1."""
    if factor == 1:
        return x
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


def cat_resize(pieces: Sequence[Tensor], s: float) -> Tensor:
    """Concatenate full-resolution pieces on the channel axis and resize by 1/s.

    Pieces that are 1x1 spatially (per-sample constants such as the timestep) are expanded first. Resizing the
    concatenation (not piece by piece) keeps the reference's exact rounding: the bilinear kernel's result for a channel
    depends, in the last bit, on how the channels are grouped.
    """
    size = next(p.shape[-2:] for p in pieces if p.shape[-2:] != (1, 1))
    return resize(torch.cat([p.expand(-1, -1, *size) for p in pieces], 1), 1.0 / s)


def swap_pairs(flow: Tensor) -> Tensor:
    """Swap the (0->t) and (1->t) halves of a 4-channel flow."""
    return torch.cat((flow[:, 2:4], flow[:, 0:2]), 1)


class Warper:
    """Backward warping of stacked sources with per-source flows, fp32 like the reference.

    The base grid and the flow divisor depend only on (H, W, device); they are cached process-wide.
    """

    _cache: dict[tuple[int, int, str], tuple[Tensor, Tensor]] = {}
    _lock = threading.Lock()
    _MAX = 16

    @classmethod
    def _grid(cls, h: int, w: int, device: torch.device) -> tuple[Tensor, Tensor]:
        key = (h, w, str(device))
        hit = cls._cache.get(key)
        if hit is None:
            gx = torch.linspace(-1.0, 1.0, w, dtype=torch.float32, device=device).view(1, 1, w).expand(1, h, w)
            gy = torch.linspace(-1.0, 1.0, h, dtype=torch.float32, device=device).view(1, h, 1).expand(1, h, w)
            base = torch.stack((gx, gy), -1)  # [1, H, W, 2], grid_sample's layout
            div = torch.tensor([(w - 1.0) / 2.0, (h - 1.0) / 2.0], dtype=torch.float32, device=device)
            hit = (base, div)
            with cls._lock:
                if len(cls._cache) >= cls._MAX:
                    cls._cache.pop(next(iter(cls._cache)))
                cls._cache[key] = hit
        return hit

    @classmethod
    def warp(cls, src: Tensor, flow: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """Sample ``src`` [B,C,H,W] at pixel + ``flow`` [B,2,H,W] (bilinear, border padding) in fp32.

        The result has ``dtype`` (default: the dtype of ``src``)."""
        h, w = src.shape[-2:]
        base, div = cls._grid(h, w, src.device)
        grid = flow.float().permute(0, 2, 3, 1) / div + base
        out = F.grid_sample(src.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.to(dtype or src.dtype)

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls._cache.clear()


class FeatureEncoder(nn.Module):
    """Per-source-frame feature extractor: ``encoder(img)`` -> features [N,C,H,W], or None for models without one."""

    channels: int = 0

    def forward(self, img: Tensor) -> Tensor | None:  # pragma: no cover - overridden
        raise NotImplementedError


class NoEncoder(FeatureEncoder):
    """Models without per-frame features (HD 3.6, v4.0-4.6)."""

    def forward(self, img: Tensor) -> None:
        return None


class Encoder(FeatureEncoder):
    """The v4.7+ feature head; its convolutions are registered under the names of the published weights."""

    def __init__(self, arch: EncoderArch) -> None:
        super().__init__()
        c = arch.width
        layers: list[nn.Module] = [nn.Conv2d(3, c, 3, 2, 1)]
        layers += [nn.Conv2d(c, c, 3, 1, 1) for _ in arch.names[2:]]
        layers.append(nn.ConvTranspose2d(c, arch.channels, 4, 2, 1))
        for name, layer in zip(arch.names, layers, strict=True):
            self.add_module(name, layer)
        self.channels = arch.channels
        self.activation, self.clamp = arch.activation, arch.clamp

    def forward(self, img: Tensor) -> Tensor:
        *body, last = self.children()
        x = img.to(next(self.parameters()).dtype)
        if self.clamp:
            x = x.clamp(0.0, 1.0)
        for layer in body:
            x = layer(x)
            if self.activation:
                x = F.leaky_relu(x, 0.2, inplace=True)
        return last(x)


class RifeModel(nn.Module):
    """Common interface of all networks (see the package docstring)."""

    spec: ModelSpec
    encode: FeatureEncoder  # encode(img [N,3,H,W]) -> per-source-frame features or None

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def _check(self, img0: Tensor, img1: Tensor, scale: float, ensemble: bool) -> None:
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))}, not {scale!r}")
        if ensemble and not self.spec.ensemble:
            raise ValueError(f"model {self.spec.name} does not support ensemble")
        if img0.dim() != 4 or img0.shape[1] != 3 or img0.shape != img1.shape:
            raise ValueError(f"img0 and img1 must both be [N,3,H,W], got {tuple(img0.shape)} and {tuple(img1.shape)}")
        m = self.spec.pad_multiple(scale)
        h, w = img0.shape[-2:]
        if h % m or w % m:
            raise ValueError(f"model {self.spec.name} at scale {scale} needs frame sizes that are multiples of {m}, "
                             f"got {w}x{h}: pad first")

    def forward(self, img0: Tensor, img1: Tensor, timestep: float | Tensor = 0.5, feat0: Tensor | None = None,
                feat1: Tensor | None = None, scale: float = 1.0, ensemble: bool = False) -> Tensor:
        raise NotImplementedError  # pragma: no cover
