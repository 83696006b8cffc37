"""Building blocks shared by the HD and v4 networks: layers, resizing, backward warping, the model base class."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .specs import EncoderArch, ModelSpec

__all__ = ["RifeModel", "FeatureEncoder", "NoEncoder", "Encoder", "conv_act", "resize", "cat_resize", "Warper",
           "swap_pairs", "flow_pairs", "SCALES", "conv_format", "SubGrid", "join_channels", "SplitInput"]

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


def join_channels(pieces: Sequence[Tensor], memory_format: torch.memory_format,
                  dtype: torch.dtype | None = None) -> Tensor:
    """Concatenate pieces on the channel axis straight into ``memory_format`` and ``dtype`` (one write per piece).

    Pieces that are 1x1 spatially (per-sample constants) are broadcast. For channels_last this replaces a
    concatenation followed by a layout copy (and a dtype conversion).
    """
    big = next(p for p in pieces if p.shape[-2:] != (1, 1))
    n, (h, w) = big.shape[0], big.shape[-2:]
    c = sum(p.shape[1] for p in pieces)
    dtype = dtype or big.dtype
    if memory_format != torch.channels_last:
        return torch.cat([p.expand(n, -1, h, w) for p in pieces], 1).to(dtype)
    out = torch.empty((n, h, w, c), dtype=dtype, device=big.device)
    o = 0
    for p in pieces:
        out[..., o:o + p.shape[1]] = p.expand(n, -1, h, w).permute(0, 2, 3, 1)
        o += p.shape[1]
    return out.permute(0, 3, 1, 2)


class SplitInput:
    """A block input kept as separate NCHW pieces; its first convolution runs piece by piece and sums.

    ``conv(cat(pieces), w) == sum(conv(piece, w[:, channels_of_piece]))``. On the CPU this replaces writing every
    piece into one channels_last tensor (strided writes of a few channels each, the slowest part of a full-resolution
    block input) followed by the convolution: oneDNN convolves inputs of a few NCHW channels directly. The channel
    map also expresses a permuted, negated or scaled copy of the same pieces (the swapped ensemble pass, the flow's
    ``/ s``) through the weights, so those copies are never written. Two kinds of pieces are never made at the input's
    resolution at all (for the blocks' first layer, a 3x3 convolution with stride 2 and padding 1):

    * per-sample constants (the timestep): their convolution is a per-channel constant, except in the first output
      row and column, which read the zero padding;
    * pieces at half the input's resolution that stand for their 2x bilinear upscale (the previous block's mask and
      features): see :func:`conv_upsampled`.
    """

    __slots__ = ("parts", "constants")
    #: oneDNN convolves NCHW inputs of fewer channels than this directly (about as fast as channels_last); from 16
    #: channels on it reorders them first (2-3x slower). Larger parts are convolved in pieces.
    MAX_CHANNELS = 16

    def __init__(self) -> None:
        #: (tensor [N,C,h,w], the block input channel of each of its channels, a factor, at half resolution)
        self.parts: list[tuple[Tensor, tuple[int, ...], float, bool]] = []
        #: (value [N,1,1,1], block input channel): channels that hold one value per sample
        self.constants: list[tuple[Tensor, int]] = []

    def add(self, x: Tensor, channels: Iterable[int], factor: float = 1.0, half: bool = False) -> None:
        """``x`` holds the input ``channels`` times ``factor``; with ``half``, ``x`` is at half the input's resolution
        and stands for ``resize(x, 2)``."""
        self.parts.append((x, tuple(channels), factor, half))

    def add_constant(self, value: Tensor, channel: int) -> None:
        """Input ``channel`` holds ``value`` [N,1,1,1] at every pixel."""
        self.constants.append((value, channel))

    def _chunks(self) -> Iterable[tuple[Tensor, tuple[int, ...], float, bool]]:
        """The parts, channels_last ones first and whole, NCHW ones of MAX_CHANNELS or more cut into pieces below
        it."""
        cl = [p for p in self.parts if _is_channels_last(p[0])]
        yield from cl
        for x, channels, factor, half in self.parts:
            if any(x is p[0] for p in cl):
                continue
            c = x.shape[1]
            k = -(-c // (self.MAX_CHANNELS - 1))
            step = -(-c // k)
            for i in range(0, c, step):
                yield x[:, i:i + step], channels[i:i + step], factor, half

    def conv(self, layer: nn.Conv2d) -> Tensor:
        """``layer`` applied to the joined input, NCHW, in the layer's dtype (computed in fp32 when the pieces are)."""
        full = next(x for x, _, _, half in self.parts if not half)
        # fp32 pieces under reduced-precision weights: convolve in fp32 (converting the small weights, not the
        # large pieces), return the layer's dtype
        out_dtype = layer.weight.dtype
        dtype = full.dtype if full.dtype == torch.float32 else out_dtype
        w = layer.weight.to(dtype).contiguous()
        bias = None if layer.bias is None else layer.bias.to(dtype)
        n, (h, wd) = full.shape[0], full.shape[-2:]
        first3x3 = layer.kernel_size == (3, 3) and layer.stride == (2, 2) and layer.padding == (1, 1)
        edges: list[Tensor] = []
        shared: list[Tensor] = []
        plain: list[tuple[Tensor, int]] = []
        for value, c in self.constants:
            if not (first3x3 and h % 2 == 0 and wd % 2 == 0 and h >= 4 and wd >= 4):
                plain.append((value, c))
                continue
            # the convolution of ones on a 4x4 plane: [[corner, top], [left, inside]] per channel (at even sizes
            # only the first output row and column read the padding)
            ones = torch.ones((1, 1, 4, 4), dtype=dtype, device=w.device)
            k = F.conv2d(ones, w[:, c:c + 1].contiguous(), None, 2, 1)
            v = value.to(dtype).reshape(-1, 1, 1, 1)
            inside = v * k[:, :, 1:, 1:]
            edges.append(v * k - inside)  # what the first row and column add to or lack from inside
            if v.shape[0] == 1 and bias is not None:
                bias = bias + inside.reshape(-1)
            else:
                shared.append(inside)
        out: Tensor | None = None
        for x, channels, factor, half in self._chunks():
            wp = w[:, list(channels)]
            wp = wp * factor if factor != 1.0 else wp
            x = x.to(dtype)
            if half:  # small: channels_last pays (a 9-channel NCHW piece at 384x640 convolved 3x slower, fp32)
                x = x.contiguous(memory_format=torch.channels_last)
            else:
                x = x if _is_channels_last(x) else x.contiguous()
            b = bias if out is None else None
            if half and first3x3:
                y = conv_upsampled(x, wp, b)
            else:
                x = resize(x, 2.0) if half else x
                y = F.conv2d(x, wp, b, layer.stride, layer.padding)
            out = y if out is None else out.add_(y)
        assert out is not None
        for inside in shared:
            out.add_(inside)
        for d in edges:
            out[:, :, :1, 1:].add_(d[:, :, :1, 1:])
            out[:, :, 1:, :1].add_(d[:, :, 1:, :1])
            out[:, :, :1, :1].add_(d[:, :, :1, :1])
        for value, c in plain:
            # a constant plane, convolved with zero padding: exact at the borders too
            plane = value.to(dtype).expand(n, 1, h, wd).contiguous()
            out.add_(F.conv2d(plane, w[:, c:c + 1].contiguous(), None, layer.stride, layer.padding))
        return out.to(out_dtype)


def _is_channels_last(x: Tensor) -> bool:
    """A dense channels_last tensor of several channels (not one that is also plain contiguous)."""
    return x.shape[1] > 1 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


#: Per axis, how the three taps of a stride-2 3x3 convolution over ``resize(c, 2)`` fall on the coarse pixels
#: j-1, j, j+1 of ``c`` (bilinear 2x upscale: fine pixel 2j-1 = 3/4 c[j-1] + 1/4 c[j], 2j = 1/4 c[j-1] + 3/4 c[j],
#: 2j+1 = 3/4 c[j] + 1/4 c[j+1]).
_UP2_TAPS = ((0.75, 0.25, 0.0), (0.25, 0.75, 0.75), (0.0, 0.0, 0.25))


def conv_upsampled(c: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.conv2d(resize(c, 2), weight, bias, stride=2, padding=1)`` for a 3x3 ``weight``, without the upscale.

    Inside, the convolution over the upscale is a 3x3 convolution over ``c`` itself with the kernel
    ``A @ weight @ A.T`` (``A`` = :data:`_UP2_TAPS`). The first and last output row and column differ (the upscale
    clamps at the edges; the convolution pads with zeros): they are recomputed exactly from 2-pixel strips of ``c``.
    Equal in real arithmetic; the rounding differs.
    """
    hc, wc = c.shape[-2:]
    if hc < 2 or wc < 2:
        return F.conv2d(resize(c, 2.0), weight, bias, 2, 1)
    dt = torch.float64 if weight.dtype == torch.float64 else torch.float32
    a = torch.tensor(_UP2_TAPS, dtype=dt, device=weight.device)
    k = (a @ weight.to(dt) @ a.T).to(weight.dtype)
    out = F.conv2d(c, k, bias, 1, 1)

    def strip(x: Tensor) -> Tensor:
        return F.conv2d(resize(x, 2.0), weight, bias, 2, 1)

    out[:, :, :1, :] = strip(c[:, :, :2, :])[:, :, :1, :]
    out[:, :, -1:, :] = strip(c[:, :, -2:, :])[:, :, 1:, :]
    out[:, :, :, :1] = strip(c[:, :, :, :2])[:, :, :, :1]
    out[:, :, :, -1:] = strip(c[:, :, :, -2:])[:, :, :, 1:]
    return out


def swap_pairs(flow: Tensor) -> Tensor:
    """Swap the (0->t) and (1->t) halves of a 4-channel flow."""
    return torch.cat((flow[:, 2:4], flow[:, 0:2]), 1)


def flow_pairs(flow: Tensor) -> Tensor:
    """[N,4,H,W] flow (0->t, 1->t) as [2N,2,H,W], the 0->t flows first, to warp sources stacked the same way (a view
    for N = 1)."""
    n, _, h, w = flow.shape
    return flow.reshape(n, 2, 2, h, w).transpose(0, 1).reshape(2 * n, 2, h, w)


class Warper:
    """Backward warping of stacked sources with per-source flows, fp32 like the reference.

    The base grid and the flow divisor depend only on (H, W, device); they are cached process-wide.
    """

    _cache: dict[tuple[int, int, str], tuple[Tensor, Tensor]] = {}
    _native: dict[tuple[int, int], tuple[Tensor, Tensor, float, float]] = {}
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
    def warp(cls, src: Tensor, flow: Tensor, dtype: torch.dtype | None = None, fast: bool = False,
             base: Tensor | None = None) -> Tensor:
        """Sample ``src`` [B,C,H,W] at pixel + ``flow`` [B,2,H,W] (bilinear, border padding) in fp32.

        The result has ``dtype`` (default: the dtype of ``src``). ``fast``: the sampling grid in one pass
        (multiplying by the reciprocal of the reference's divisor). ``base``: the pixels' own grid coordinates
        [1,h,w,2] when ``flow`` covers only some of them (a :class:`SubGrid`); default all of ``src``."""
        h, w = src.shape[-2:]
        full, div = cls._grid(h, w, src.device)
        base = full if base is None else base
        if fast:
            grid = torch.addcmul(base, flow.float().permute(0, 2, 3, 1), 1.0 / div)
        else:
            grid = flow.float().permute(0, 2, 3, 1) / div + base
        out = F.grid_sample(src.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.to(dtype or src.dtype)

    @classmethod
    def native_base(cls, h: int, w: int) -> tuple[Tensor, Tensor, float, float]:
        """The CPU base grid as :mod:`vsrife.native` reads it (its ``Base``): the x coordinate of each column [W]
        and the y coordinate of each row [H] (contiguous fp32), and the reciprocals of the flow divisors."""
        key = (h, w)
        hit = cls._native.get(key)
        if hit is None:
            full, div = cls._grid(h, w, torch.device("cpu"))
            inv = 1.0 / div
            hit = (full[0, 0, :, 0].contiguous(), full[0, :, 0, 1].contiguous(), float(inv[0]), float(inv[1]))
            with cls._lock:
                if len(cls._native) >= cls._MAX:
                    cls._native.pop(next(iter(cls._native)))
                cls._native[key] = hit
        return hit


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
    #: Fast path (default; v4 networks): the same network without most full-resolution intermediates (see
    #: ``ifnet_v4``), tested within 1e-3 of the reference networks. False: op for op as the reference networks
    #: (bit-identical on CPU in fp32). The HD network has one path; for it ``fast`` only allows ``winograd``.
    fast: bool = True
    #: Winograd body convolutions by NNPACK on the fast path (fp32 on the CPU; see ``winograd``). Off by default: the
    #: engine turns it on where it pays (``Engine(winograd=None)``).
    winograd: bool = False

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def fold_for_inference(self) -> None:
        """Rewrite the weights into an equivalent, cheaper form for the fast path (default: nothing to fold)."""

    @property
    def glue_dtype(self) -> torch.dtype:
        """The dtype of the full-resolution tensors (frames, features, warps): the network's own by default; the v4
        fast path keeps fp32. Callers that cache frames and features convert them to it once."""
        return self.dtype

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


class SubGrid:
    """The full-resolution pixels that a bilinear downscale by an even integer ``k`` reads.

    ``F.interpolate(x, scale_factor=1/k, mode="bilinear", align_corners=False)`` samples full-resolution row
    ``k*i + k/2 - 0.5``: the mean of rows ``k*i + k/2 - 1`` and ``k*i + k/2`` (weights exactly 1/2), and likewise for
    columns. So a block that sees its input at 1/k needs its full-resolution input (warped frames and features,
    upsampled flow, mask and features of the previous block) only at those 2 of every k rows and columns: 4/k**2 of
    the pixels. :meth:`take`, :meth:`upsample` and :meth:`warp` compute values on that sub-grid only; a 2x bilinear
    downscale of the result is then the block's input (the same arithmetic as the full-resolution path, up to the
    rounding of the upsampling weights: the tests bound the difference).
    """

    def __init__(self, k: int, h: int, w: int, device: torch.device) -> None:
        self.k, self.h, self.w, self.device = k, h, w, device
        self.rows = self._index(k, h, device)
        self.cols = self._index(k, w, device)
        self._weights: dict[tuple[float, int, int], tuple[Tensor, ...]] = {}
        # the sub-grid pixels' own sampling coordinates, in grid_sample's [1,h,w,2] layout
        full, _ = Warper._grid(h, w, device)
        self.base = self.take(full.permute(0, 3, 1, 2)).permute(0, 2, 3, 1).contiguous()

    @staticmethod
    def usable(s: float, h: int, w: int) -> bool:
        """Whether a block at divisor ``s`` can use a sub-grid (``s`` an even integer >= 4 dividing H and W)."""
        k = int(s)
        return k == s and k >= 4 and k % 2 == 0 and h % k == 0 and w % k == 0

    @staticmethod
    def _index(k: int, n: int, device: torch.device) -> Tensor:
        start = torch.arange(0, n, k, device=device) + (k // 2 - 1)
        return torch.stack((start, start + 1), 1).reshape(-1)

    def take(self, x: Tensor) -> Tensor:
        """A full-resolution tensor (or a [N,C,1,1] constant, returned as is) at the sub-grid."""
        if x.shape[-2:] == (1, 1):
            return x
        return x.index_select(2, self.rows).index_select(3, self.cols)

    def _axis(self, f: float, coarse: int, full_index: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # upsample_bilinear2d, align_corners=False: src = max((dst + 0.5) / f - 0.5, 0), clamped to the last pixel
        src = ((full_index.to(torch.float32) + 0.5) * (1.0 / f) - 0.5).clamp_(min=0.0)
        i0 = src.floor().long().clamp_(max=coarse - 1)
        i1 = (i0 + 1).clamp_(max=coarse - 1)
        return i0, i1, src - i0.to(torch.float32)

    def upsample(self, coarse: Tensor, f: float) -> Tensor:
        """``resize(coarse, f)`` evaluated at the sub-grid only."""
        hc, wc = coarse.shape[-2:]
        key = (f, hc, wc)
        wts = self._weights.get(key)
        if wts is None:
            y0, y1, ly = self._axis(f, hc, self.rows)
            x0, x1, lx = self._axis(f, wc, self.cols)
            wts = (y0, y1, ly.view(-1, 1), x0, x1, lx)
            self._weights[key] = wts
        y0, y1, ly, x0, x1, lx = (t if t.dtype != torch.float32 else t.to(coarse.dtype) for t in wts)
        rows = coarse.index_select(2, y0) * (1 - ly) + coarse.index_select(2, y1) * ly
        return rows.index_select(3, x0) * (1 - lx) + rows.index_select(3, x1) * lx

    def warp(self, src: Tensor, flow: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """:meth:`Warper.warp` of full-resolution ``src`` with ``flow`` given at the sub-grid; sub-grid result."""
        return Warper.warp(src, flow, dtype, fast=True, base=self.base)
