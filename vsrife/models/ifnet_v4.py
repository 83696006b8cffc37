"""Practical-RIFE v4.0-v4.26: one network parametrised by :class:`~.specs.V4Arch`.

Coarse-to-fine: block i sees the inputs resized by 1/s_i (s = arch.scales / user scale) and refines a 4-channel flow
(img0 -> t in channels 0-1, img1 -> t in 2-3) and a blend mask; the result blends both frames warped by the flow.

Two paths compute the same network (``RifeModel.fast``):

* exact (``fast=False``): op for op as the published networks (on CPU in fp32 the tests find bit-identical
  outputs), with exact shortcuts only: warps of frames and features by the same flow run as one ``grid_sample``,
  output channels that nobody reads are not resized, and the last block's features are not warped.
* fast (the default): the same arithmetic in another order, without most full-resolution intermediates. Flow, mask
  and features stay at the resolution each block made them (:class:`_Field`) and reach the next block by one
  resize; warps for blocks at 1/4 and below are computed only on the pixels their downscale reads
  (:class:`~.common.SubGrid`); block inputs are resized piece by piece and written once into the convolutions'
  layout and dtype, or (on the CPU, for blocks of many input channels) never joined at all: the first convolution
  runs on each piece (:class:`~.common.SplitInput`); the glue stays fp32 under bf16 convolutions. Where
  :mod:`vsrife.native` is available (CPU, on by default), the blocks get their warped, downscaled, channels_last
  input (4.7+: the warped part and the flow; 4.0-4.6: all of it) and the output frame its warp and blend from one
  native pass each, which evaluates flow and mask from their coarse terms itself. The tests
  hold it within 1e-3 of the reference networks on every model (worst 4.4e-6 over the 213-case reference matrix);
  4.26 runs about 1.8x faster at 720p.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import winograd as wg
from .. import native
from .common import (Encoder, NoEncoder, RifeModel, SplitInput, SubGrid, Warper, cat_resize, conv_act, conv_format,
                     flow_pairs, join_channels, resize, swap_pairs)
from .specs import ModelSpec, V4Arch

__all__ = ["IFNetV4"]

LARGE_MOTION_PX = 32.0  # 4.0/4.1: block-1 motion above this in both flows restarts at doubled scales
#: Blocks with at least this many input channels (v4.7 on) take their input as a :class:`SplitInput` on the CPU;
#: below it (v4.0-4.6: 12) writing it into one channels_last tensor is as fast.
SPLIT_MIN_CHANNELS = 20


class ResConv(nn.Module):
    """LeakyReLU(conv(x) * beta + x)."""

    def __init__(self, c: int, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1, groups=groups)
        self.beta = nn.Parameter(torch.ones((1, c, 1, 1)))
        #: beta is folded into the convolution (and is 1): :meth:`fold_beta`.
        self.folded = False

    @torch.no_grad()
    def fold_beta(self) -> None:
        """Scale the convolution's weights and bias by beta and set beta to 1: the same function, one elementwise
        pass over the activations fewer (about 3 % of a 4.6 forward). The exact path's rounding changes with it."""
        if not self.folded:
            b = self.beta.reshape(-1)
            self.conv.weight.mul_(b.view(-1, 1, 1, 1).to(self.conv.weight.dtype))
            if self.conv.bias is not None:
                self.conv.bias.mul_(b.to(self.conv.bias.dtype))
            self.beta.fill_(1.0)
            self.folded = True

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self.folded = False  # new weights: beta is theirs again

    def forward(self, x: Tensor, conv: Callable[[Tensor, nn.Conv2d], Tensor] | None = None) -> Tensor:
        """``conv``: how to apply the convolution (default: the layer itself)."""
        y = self.conv(x) if conv is None else conv(x, self.conv)
        if torch.is_grad_enabled():
            y = y * self.beta + x
        else:
            y = (y if self.folded else y.mul_(self.beta)).add_(x)
        return F.leaky_relu(y, 0.2, inplace=True)


class IFBlock(nn.Module):
    """conv0 (two stride-2 convs) -> 8 body convs -> lastconv (transposed conv [+ PixelShuffle]) -> resize back."""

    def __init__(self, cin: int, c: int, arch: V4Arch) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(conv_act(cin, c // 2, arch.prelu, 2), conv_act(c // 2, c, arch.prelu, 2))
        body = [ResConv(c, arch.groups) if arch.resconv else conv_act(c, c, arch.prelu) for _ in range(8)]
        self.convblock = nn.Sequential(*body)
        if arch.pixel_shuffle:
            self.lastconv: nn.Module = nn.Sequential(
                nn.ConvTranspose2d(c, 4 * arch.out_channels, 4, 2, 1), nn.PixelShuffle(2))
        else:
            self.lastconv = nn.ConvTranspose2d(c, arch.out_channels, 4, 2, 1)
        self.global_residual = arch.global_residual
        self.up = 1 if arch.pixel_shuffle else 2  # the last layer's output is at 1/(s*up) of full resolution
        self.out_channels = arch.out_channels

    def forward(self, x: Tensor | SplitInput, keep: int, fast: bool = False, winograd: bool = False,
                dtype: torch.dtype | None = None) -> Tensor:
        """x: input at 1/s resolution (flow last), joined or as pieces. Returns output channels :keep (flow, mask,
        features) at 1/(s * self.up) of full resolution, NCHW. ``fast``: compute only the kept channels, and where
        the native kernels can, lay them out and convert them to ``dtype`` in one pass (else: the layers' dtype).
        ``winograd``: run the body with :mod:`.winograd` where it pays."""
        fmt = conv_format(self.conv0)
        if isinstance(x, SplitInput):
            conv, act = self.conv0[0]
            feat = self.conv0[1](act(x.conv(conv)).contiguous(memory_format=fmt))
        else:
            feat = self.conv0(x.contiguous(memory_format=fmt))
        body = self._body(feat, winograd)
        feat = body + feat if self.global_residual else body
        if fast and keep < self.out_channels:
            if self.up == 1:  # PixelShuffle(2): output channel c comes from transposed-conv channels 4c ... 4c+3
                deconv, n = self.lastconv[0], 4 * keep
                return _pixel_shuffle_nchw(F.conv_transpose2d(feat, deconv.weight[:, :n], deconv.bias[:n], 2, 1),
                                           dtype)
            out = F.conv_transpose2d(feat, self.lastconv.weight[:, :keep], self.lastconv.bias[:keep], 2, 1)
            return out.contiguous()
        # Back to NCHW: the full-resolution glue that follows is fastest there.
        return self.lastconv(feat)[:, :keep].contiguous()

    def _body(self, feat: Tensor, winograd: bool) -> Tensor:
        """The eight body layers; with ``winograd`` (and where it pays) in NCHW by NNPACK. Same layout out as in."""
        first = self.convblock[0]
        conv = first.conv if isinstance(first, ResConv) else first[0]
        if not (winograd and wg.pays(conv, *feat.shape[-2:])):
            return self.convblock(feat)
        y = feat.contiguous()
        for layer in self.convblock:
            y = layer(y, wg.conv3x3) if isinstance(layer, ResConv) else wg.conv_act(layer, y)
        return y.contiguous(memory_format=conv_format(self.conv0))


class _Field:
    """A full-resolution map (flow, mask, block features) kept as a sum of terms ``resize(coarse, f) * mul``.

    The exact path resizes each block's output at once (f = 1 in its terms); the fast path keeps the coarse output
    and evaluates it where it is needed: on a block's :class:`SubGrid`, or everywhere once a block needs it all.
    """

    __slots__ = ("terms",)

    def __init__(self, terms: list[tuple[Tensor, float, float]]) -> None:
        self.terms = terms

    def __add__(self, other: _Field) -> _Field:
        return _Field(self.terms + other.terms)

    @staticmethod
    def _value(x: Tensor, mul: float) -> Tensor:
        return x if mul == 1 else x * mul

    def _sum(self, values: Iterable[Tensor]) -> Tensor:
        """Sum in term order; adds in place into a tensor of our own, never into a term's tensor."""
        out: Tensor | None = None
        for v in values:
            if out is None:
                out = v
            elif any(out is c for c, _, _ in self.terms):
                out = out + v
            else:
                out.add_(v)
        assert out is not None
        return out

    def full(self) -> Tensor:
        """The full-resolution map (computed once: the terms collapse into one)."""
        # multipliers are powers of two: scaling before the resize rounds the same and touches fewer pixels
        out = self._sum(resize(self._value(c, mul), f) for c, f, mul in self.terms)
        self.terms = [(out, 1.0, 1.0)]
        return out

    def down(self, k: float) -> Tensor:
        """``resize(self.full(), 1 / k)``, from the coarse terms where that is exact in real arithmetic.

        For an integer k and power-of-two f >= 2k, the 1/k downscale averages two full-resolution samples 1/f apart
        (in coarse pixels) that always lie on one linear piece of the f-times upscale, so it equals the f/k upscale
        of the same coarse map. (In the cascade every earlier block's f is at least twice a later block's k.)
        """
        if k == 1:
            return self.full()
        if k < 1 or k != int(k) or any(f != 1 and f < 2 * k for _, f, _ in self.terms):
            return resize(self.full(), 1.0 / k)
        return self._sum(resize(self._value(c, mul), f / k) for c, f, mul in self.terms)

    def half(self, k: float) -> Tensor | None:
        """The coarse map whose 2x upscale is ``self.down(k)``, when there is one (a single term at twice the
        resolution of 1/k), else None."""
        if len(self.terms) != 1:
            return None
        c, f, mul = self.terms[0]
        return self._value(c, mul) if f == 2 * k else None

    def at(self, grid: SubGrid) -> Tensor:
        """The map at a sub-grid's pixels only."""
        return self._sum(grid.upsample(self._value(c, mul), f) if f != 1 else self._value(grid.take(c), mul)
                         for c, f, mul in self.terms)


class IFNetV4(RifeModel):
    """Any v4 model; the architecture comes from ``spec.arch``."""

    arch: V4Arch

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        assert isinstance(spec.arch, V4Arch)
        self.arch = arch = spec.arch
        for i, c in enumerate(arch.widths):
            self.add_module(f"block{i}", IFBlock(arch.in_channels(i), c, arch))
        self.encode = Encoder(arch.encoder) if arch.encoder else NoEncoder()
        self._grids: dict[tuple[int, int, int, str], SubGrid] = {}

    @property
    def glue_dtype(self) -> torch.dtype:
        """Glue (warps, resizes, flow sums) runs in the network's dtype on the exact path; the fast path keeps it in
        fp32 whatever the convolutions use (reduced-precision resizes are slower on CPUs, and the block inputs change
        dtype for free while they are written into the convolutions' layout)."""
        return torch.float32 if self.fast else self.dtype

    def fold_for_inference(self) -> None:
        """Fold each ResConv's beta into its convolution (:meth:`ResConv.fold_beta`). For the fast path; the exact
        path is then no longer op for op the published network."""
        for m in self.modules():
            if isinstance(m, ResConv):
                m.fold_beta()

    @property
    def blocks(self) -> list[IFBlock]:
        return [getattr(self, f"block{i}") for i in range(len(self.arch.widths))]

    def forward(self, img0: Tensor, img1: Tensor, timestep: float | Tensor = 0.5, feat0: Tensor | None = None,
                feat1: Tensor | None = None, scale: float = 1.0, ensemble: bool = False) -> Tensor:
        """Frame at ``timestep`` between img0 and img1 ([N,3,H,W] in [0,1], H, W multiples of pad_multiple)."""
        self._check(img0, img1, scale, ensemble)
        n, out_dtype = img0.shape[0], img0.dtype
        dtype = self.glue_dtype
        if self.arch.encoder is not None:
            feat0 = self.encode(img0) if feat0 is None else feat0
            feat1 = self.encode(img1) if feat1 is None else feat1
            feat0, feat1 = feat0.to(dtype), feat1.to(dtype)
        else:
            feat0 = feat1 = None
        t = _timestep(timestep, n, dtype, img0.device)
        img0 = img0.to(dtype).clamp(0.0, 1.0)
        img1 = img1.to(dtype).clamp(0.0, 1.0)
        scales = [b / scale for b in self.arch.scales]
        return self._flow_and_merge(img0, img1, t, feat0, feat1, scales, ensemble, None).to(out_dtype)

    def _flow_and_merge(self, img0: Tensor, img1: Tensor, t: Tensor, f0: Tensor | None, f1: Tensor | None,
                        scales: list[float], ensemble: bool, large: bool | None) -> Tensor:
        """The block cascade. ``large``: None = decide at block 1 (4.0/4.1), True = rerun at doubled scales."""
        arch, n = self.arch, img0.shape[0]
        # warp sources, frame (and features) 0 then 1 stacked on the batch axis
        src_cl = self._native_source(img0, img1, f0, f1, ensemble) if self.fast else None
        if src_cl is None:
            src = _stack_sources(img0, img1, f0, f1)
        else:  # the same values, read through the native kernels' layout
            src = src_cl[..., :3 + (f0.shape[1] if f0 is not None and f1 is not None else 0)].permute(0, 3, 1, 2)
        dtype = img0.dtype
        flow = mask = feat = None  # _Field
        blocks = self.blocks
        last = len(blocks) - 1
        wino = self.fast and self.winograd
        for i, block in enumerate(blocks):
            s = scales[i]
            ens = ensemble and not (i == 0 and large)  # the reference reruns block 0 without the swapped pass
            if self.fast:
                x, xs = self._fast_inputs(block, src, n, t, flow, mask, feat, s, ens, src_cl)
            else:
                fl = None if flow is None else flow.full()
                # frames (and features) 0 and 1, stacked on the batch axis: as they are (block 0) or warped
                stack = src.to(dtype) if fl is None else Warper.warp(src, flow_pairs(fl), dtype)
                mk = None if mask is None else mask.full()
                ft = None if feat is None else feat.full()
                x, xs = self._exact_inputs(stack, n, t, mk, ft, fl, s, ens)
            keep = 5 + (arch.block_features if i < last else 0)
            f = s * block.up
            out = block(x, keep, self.fast, wino, dtype).to(dtype)
            fr = f if self.fast else 1.0  # terms keep the coarse output (fast) or its full-resolution resize
            if not self.fast:
                out = resize(out, f)
            if i == 1 and arch.large_motion and large is None:
                fd_full = resize(out[:, :4], fr) * f
                res = self._large_motion(fd_full, img0, img1, t, f0, f1, scales, ensemble)
                if res is not None:
                    return res
            if xs is not None:  # ensemble: the swapped pass
                outs = block(xs, keep, self.fast, wino, dtype).to(dtype)
                if not self.fast:
                    outs = resize(outs, f)
                # f is a power of two: averaging before or after the flow's "* f" rounds the same
                out = torch.cat(((out[:, :4] + swap_pairs(outs[:, :4])) / 2, (out[:, 4:5] + (-outs[:, 4:5])) / 2), 1)
            fd = _Field([(out[:, :4], fr, f)])
            m = _Field([(out[:, 4:5], fr, 1.0)])
            flow = fd if flow is None else flow + fd
            mask = m if mask is None or arch.replace_mask else mask + m
            feat = _Field([(out[:, 5:], fr, 1.0)]) if arch.block_features and i < last else None
        assert flow is not None and mask is not None
        if src_cl is not None:
            return native.merge(src_cl, _native_terms(flow), _native_terms(mask), base=_native_base(src_cl))
        warped = Warper.warp(src[:, :3], flow_pairs(flow.full()), dtype, self.fast)
        w0, w1 = warped[:n], warped[n:]
        mk = torch.sigmoid(mask.full())
        if self.fast:
            return torch.lerp(w1, w0, mk)  # w1 + mk * (w0 - w1): one pass
        return w0 * mk + w1 * (1 - mk)

    @staticmethod
    def _exact_inputs(stack: Tensor, n: int, t: Tensor, mk: Tensor | None, ft: Tensor | None, fl: Tensor | None,
                      s: float, ens: bool) -> tuple[Tensor, Tensor | None]:
        """Block input (and the swapped pass's), op for op as the reference: the pieces are concatenated at full
        resolution and resized together (the bilinear kernel's last bit depends on how many channels it resizes at
        once)."""
        w0, w1, wf0, wf1 = stack[:n, :3], stack[n:, :3], stack[:n, 3:], stack[n:, 3:]
        wf = [wf0, wf1] if stack.shape[1] > 3 else []
        pieces = [w0, w1, *wf, t] + ([mk] if mk is not None else []) + ([ft] if ft is not None else [])
        x = cat_resize(pieces, s)
        if fl is not None:
            x = torch.cat((x, resize(fl, 1.0 / s) / s), 1)
        if not ens:
            return x, None
        pieces = [w1, w0, *wf[::-1], 1 - t] + ([-mk] if mk is not None else [])
        xs = cat_resize(pieces, s)
        if fl is not None:
            xs = torch.cat((xs, resize(swap_pairs(fl), 1.0 / s) / s), 1)
        return x, xs

    def _native_source(self, img0: Tensor, img1: Tensor, f0: Tensor | None, f1: Tensor | None,
                       ensemble: bool) -> Tensor | None:
        """Frames (and features) 0 and 1 as the native kernels read them (:func:`.native.stack_sources`), or None
        where the kernels do not apply: not the CPU (channels_last blocks), not fp32, a batch, too many channels, no
        kernels, or blocks that take their input joined (v4.0-4.6) with the ensemble's swapped pass."""
        first = self.blocks[-1].conv0[0][0]
        if conv_format(first) != torch.channels_last or (first.in_channels < SPLIT_MIN_CHANNELS and ensemble):
            return None
        frames = [img0, img1] + ([f0, f1] if f0 is not None and f1 is not None else [])
        if (img0.device.type != "cpu" or img0.shape[0] != 1 or img0.shape[-1] > native.MAX_WIDTH
                or any(f.dtype != torch.float32 for f in frames)
                or native.source_channels(sum(f.shape[1] for f in frames) // 2) is None or native.library() is None):
            return None
        return native.stack_sources(frames)

    def _fast_inputs(self, block: IFBlock, src: Tensor, n: int, t: Tensor, flow: _Field | None,
                     mask: _Field | None, feat: _Field | None, s: float,
                     ens: bool, src_cl: Tensor | None = None) -> tuple[Tensor | SplitInput, Tensor | SplitInput | None]:
        """Block input (and the swapped pass's) without full-resolution intermediates where possible.

        Flow, mask and features come straight from the coarse block outputs (:meth:`_Field.down`); the warped
        frames and features are computed on the block's :class:`SubGrid` when it has one (divisors >= 4), else at
        full resolution, then resized. The pieces are resized one by one and written once into the layout and dtype
        of the block's convolutions; on the CPU, blocks of SPLIT_MIN_CHANNELS input channels or more get them as a
        :class:`SplitInput` instead (:meth:`_split_inputs`). ``src_cl``: the frames as :mod:`vsrife.native` reads
        them, when its kernels are on: they then warp, downscale and lay out in one pass where they can.
        """
        h, w = src.shape[-2:]
        dtype = src.dtype
        grid = self._grid(int(s), h, w, src.device) if SubGrid.usable(s, h, w) else None
        fmt, cdt = conv_format(block.conv0), next(block.parameters()).dtype
        # CPU, many input channels: the block's first layer convolves the pieces one by one
        split = fmt == torch.channels_last and block.conv0[0][0].in_channels >= SPLIT_MIN_CHANNELS

        def piece(field: _Field | None) -> tuple[Tensor, bool] | None:
            """(the field at 1/s, False) or, when split, (a map that its 2x upscale would give, True)."""
            if field is None:
                return None
            c = field.half(s) if split else None
            return (c, True) if c is not None else (field.down(s), False)

        mk, ft = piece(mask), piece(feat)
        if src_cl is not None and flow is not None and (grid is not None or s in (1, 2)):
            # the native kernels: evaluate the flow from its coarse terms at the pixels they sample, warp, average
            # as the 1/k downscale does, and write the block's channels_last input (the flow / s channels last)
            k, terms = int(s), _native_terms(flow)
            if split:  # the warped frames and features, then the flow, as one piece (in the convolutions' dtype)
                jdt = cdt if cdt in (torch.float32, torch.bfloat16) else torch.float32
                joined = native.warp_pairs(src_cl, src.shape[1], terms, k, None, (), jdt, 1.0 / s,
                                            base=_native_base(src_cl))
                t = resize(t, 1.0 / s) if t.shape[-2:] != (1, 1) else t
                return self._split_inputs(joined, n, t, mk, ft, None, s, ens)
            if not ens and src.shape[1] == 3 and cdt in (torch.float32, torch.bfloat16):
                # v4.0-4.6: the whole joined input [w0, w1, t, mk, fl / s] in the convolutions' layout and dtype
                const = t.shape[-2:] == (1, 1)
                planes = ([] if const else [resize(t, 1.0 / s)]) + [p[0] for p in (mk, ft) if p is not None]
                extras = torch.cat(planes, 1) if len(planes) > 1 else (planes[0] if planes else None)
                return native.warp_pairs(src_cl, 3, terms, k, extras, [float(t)] if const else [], cdt, 1.0 / s,
                                         base=_native_base(src_cl)), None
        fl = None if flow is None else flow.down(s)  # before full(), which drops the coarse terms
        if grid is not None:
            stack = grid.take(src) if flow is None else grid.warp(src, flow_pairs(flow.at(grid)), dtype)
            stack = resize(stack, 0.5)
        else:
            stack = src if flow is None else Warper.warp(src, flow_pairs(flow.full()), dtype, True)
            stack = resize(stack, 1.0 / s)
        t = resize(t, 1.0 / s) if t.shape[-2:] != (1, 1) else t
        if split:
            return self._split_inputs(stack, n, t, mk, ft, fl, s, ens)
        w0, w1, wf0, wf1 = stack[:n, :3], stack[n:, :3], stack[:n, 3:], stack[n:, 3:]
        wf = [wf0, wf1] if stack.shape[1] > 3 else []
        mkv = None if mk is None else mk[0]  # unsplit: never at half resolution
        ftv = None if ft is None else ft[0]
        fl = fl / s if fl is not None and s != 1 else fl
        x = join_channels([w0, w1, *wf, t] + ([mkv] if mkv is not None else []) + ([ftv] if ftv is not None else [])
                          + ([fl] if fl is not None else []), fmt, cdt)
        if not ens:
            return x, None
        xs = join_channels([w1, w0, *wf[::-1], 1 - t] + ([-mkv] if mkv is not None else [])
                           + ([swap_pairs(fl)] if fl is not None else []), fmt, cdt)
        return x, xs

    @staticmethod
    def _split_inputs(stack: Tensor, n: int, t: Tensor, mk: tuple[Tensor, bool] | None,
                      ft: tuple[Tensor, bool] | None, fl: Tensor | None, s: float,
                      ens: bool) -> tuple[SplitInput, SplitInput | None]:
        """The block input (and the swapped pass's) as :class:`SplitInput`: the same tensors, mapped to the input
        channels [w0, w1, wf0, wf1, t, mk, ft, fl / s] (swapped: [w1, w0, wf1, wf0, 1 - t, -mk, swap(fl) / s]).
        ``mk``, ``ft``: (tensor, whether it is at half resolution)."""
        # feature channels per frame (native: [1, 2 * (3 + e) + 4 flow channels, h, w], and fl is None)
        native_stack = stack.shape[0] == 1
        assert not (native_stack and fl is not None)
        e = (stack.shape[1] - 4) // 2 - 3 if native_stack else stack.shape[1] - 3
        ch0 = [0, 1, 2, *range(6, 6 + e)]  # frame 0's image and features
        ch1 = [3, 4, 5, *range(6 + e, 6 + 2 * e)]
        c = 6 + 2 * e  # the timestep's channel; mask, features and flow follow
        cm = c + 1
        cf = cm + (1 if mk is not None else 0)
        cl = cf + (ft[0].shape[1] if ft is not None else 0)
        if mk is not None and ft is not None and mk[1] and ft[1]:  # one half-resolution piece: fewer convolutions
            mk, ft = (torch.cat((mk[0], ft[0]), 1), True), None
        out: list[SplitInput] = []
        for swapped in (False, True) if ens else (False,):
            x = SplitInput()
            a, b = (ch1, ch0) if swapped else (ch0, ch1)
            if native_stack:  # frames 0 and 1 on the channel axis, then the flow
                x.add(stack, a + b + ([cl + 2, cl + 3, cl, cl + 1] if swapped else list(range(cl, cl + 4))))
            elif n == 1 and 2 * stack.shape[1] < SplitInput.MAX_CHANNELS:  # frames 0 and 1 as one tensor
                x.add(stack.reshape(1, -1, *stack.shape[-2:]), a + b)
            else:
                x.add(stack[:n], a)
                x.add(stack[n:], b)
            tv = 1 - t if swapped else t
            x.add_constant(tv, c) if tv.shape[-2:] == (1, 1) else x.add(tv, [c])
            if mk is not None:
                x.add(mk[0], range(cm, cm + mk[0].shape[1]), -1.0 if swapped else 1.0, mk[1])
            if ft is not None:
                assert not swapped  # models with block features have no ensemble
                x.add(ft[0], range(cf, cf + ft[0].shape[1]), 1.0, ft[1])
            if fl is not None:
                x.add(fl, [cl + 2, cl + 3, cl, cl + 1] if swapped else range(cl, cl + 4), 1.0 / s)
            out.append(x)
        return out[0], (out[1] if ens else None)

    def _grid(self, k: int, h: int, w: int, device: torch.device) -> SubGrid:
        key = (k, h, w, str(device))
        grid = self._grids.get(key)
        if grid is None:
            if len(self._grids) >= 16:
                self._grids.clear()
            grid = self._grids[key] = SubGrid(k, h, w, device)
        return grid

    def _large_motion(self, fd: Tensor, img0: Tensor, img1: Tensor, t: Tensor, f0: Tensor | None,
                      f1: Tensor | None, scales: list[float], ensemble: bool) -> Tensor | None:
        """4.0/4.1: samples whose block-1 flows both exceed 32 px restart at doubled scales (decided per sample)."""
        big = ((fd[:, 0:2].abs().amax((1, 2, 3)) > LARGE_MOTION_PX)
               & (fd[:, 2:4].abs().amax((1, 2, 3)) > LARGE_MOTION_PX))
        if not bool(big.any()):
            return None
        doubled = [2 * s for s in scales]
        if bool(big.all()):
            return self._flow_and_merge(img0, img1, t, f0, f1, doubled, ensemble, True)
        out = torch.empty_like(img0)
        for sel, sc, flag in ((big, doubled, True), (~big, scales, False)):
            idx = sel.nonzero().squeeze(1)
            out[idx] = self._flow_and_merge(img0[idx], img1[idx], t[idx], _take(f0, idx), _take(f1, idx), sc,
                                            ensemble, flag)
        return out


def _stack_sources(img0: Tensor, img1: Tensor, f0: Tensor | None, f1: Tensor | None) -> Tensor:
    """What the flows warp: frame (and features) 0 then 1 on the batch axis, fp32, written in one pass."""
    n, (h, w) = img0.shape[0], img0.shape[-2:]
    c = 3 + (f0.shape[1] if f0 is not None and f1 is not None else 0)
    src = torch.empty((2 * n, c, h, w), dtype=torch.float32, device=img0.device)
    src[:n, :3], src[n:, :3] = img0, img1
    if c > 3:
        src[:n, 3:], src[n:, 3:] = f0, f1
    return src


def _native_base(src_cl: Tensor) -> native.Base:
    """The sampling grid of the frames in ``src_cl`` ([2, H, W, CS], :func:`.native.stack_sources`)."""
    return Warper.native_base(src_cl.shape[1], src_cl.shape[2])


def _native_terms(field: _Field) -> list[tuple[Tensor, float, float]]:
    """A field's terms for :mod:`vsrife.native` (collapsed into one full-resolution term if there are too many)."""
    return field.terms if len(field.terms) <= native.MAX_TERMS else [(field.full(), 1.0, 1.0)]


def _pixel_shuffle_nchw(x: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """``F.pixel_shuffle(x, 2)`` as a contiguous NCHW tensor. A channels_last ``x`` is rearranged in one copy
    (measured: 4x faster for 20 channels at 384x640 than a layout copy followed by the shuffle); when fp32 is wanted
    (``dtype``), the native kernel converts it in the same pass where it can (else the result keeps x's dtype)."""
    if dtype == torch.float32 and (out := native.pixel_shuffle(x)) is not None:
        return out
    if x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
        return F.pixel_shuffle(x.contiguous(), 2)
    n, c, h, w = x.shape
    nhwc = x.permute(0, 2, 3, 1).reshape(n, h, w, c // 4, 2, 2)
    return nhwc.permute(0, 3, 1, 4, 2, 5).reshape(n, c // 4, 2 * h, 2 * w)


def _take(x: Tensor | None, idx: Tensor) -> Tensor | None:
    return None if x is None else x[idx]


def _timestep(timestep: float | Tensor, n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Timestep as [N,1,1,1] (a constant per sample) or [N,1,H,W] (per pixel)."""
    if not isinstance(timestep, Tensor):
        return torch.full((n, 1, 1, 1), float(timestep), dtype=dtype, device=device)
    t = timestep.to(device=device, dtype=dtype)
    while t.dim() < 4:
        t = t.unsqueeze(0)
    return t.expand(n, 1, *t.shape[-2:])
