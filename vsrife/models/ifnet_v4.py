"""Practical-RIFE v4.0-v4.26: one network parametrised by :class:`~.specs.V4Arch`.

Coarse-to-fine: block i sees the inputs resized by 1/s_i (s = arch.scales / user scale) and refines a 4-channel flow
(img0 -> t in channels 0-1, img1 -> t in 2-3) and a blend mask; the result blends both frames warped by the flow.
Numerically this follows the published networks op for op (on CPU in fp32 the tests find bit-identical outputs), with
exact shortcuts only: warps of frames and features by the same flow run as one ``grid_sample``, output channels that
nobody reads are not resized, and the last block's features are not warped.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import Encoder, NoEncoder, RifeModel, Warper, cat_resize, conv_act, conv_format, resize, swap_pairs
from .specs import ModelSpec, V4Arch

__all__ = ["IFNetV4"]

LARGE_MOTION_PX = 32.0  # 4.0/4.1: block-1 motion above this in both flows restarts at doubled scales


class ResConv(nn.Module):
    """LeakyReLU(conv(x) * beta + x)."""

    def __init__(self, c: int, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1, groups=groups)
        self.beta = nn.Parameter(torch.ones((1, c, 1, 1)))

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        y = y.mul_(self.beta).add_(x) if not torch.is_grad_enabled() else y * self.beta + x
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

    def forward(self, x: Tensor, s: float, keep: int) -> tuple[Tensor, Tensor, Tensor]:
        """x: input at 1/s resolution (flow last). Returns full-resolution flow, mask, features (channels 5:keep)."""
        x = x.contiguous(memory_format=conv_format(self.conv0))
        feat = self.conv0(x)
        feat = self.convblock(feat) + feat if self.global_residual else self.convblock(feat)
        f = s * self.up
        # Back to NCHW before resizing to full resolution: full-resolution glue is fastest in NCHW.
        out = resize(self.lastconv(feat)[:, :keep].contiguous(), f)
        return out[:, :4] * f, out[:, 4:5], out[:, 5:]


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

    @property
    def blocks(self) -> list[IFBlock]:
        return [getattr(self, f"block{i}") for i in range(len(self.arch.widths))]

    def forward(self, img0: Tensor, img1: Tensor, timestep: float | Tensor = 0.5, feat0: Tensor | None = None,
                feat1: Tensor | None = None, scale: float = 1.0, ensemble: bool = False) -> Tensor:
        """Frame at ``timestep`` between img0 and img1 ([N,3,H,W] in [0,1], H, W multiples of pad_multiple)."""
        self._check(img0, img1, scale, ensemble)
        dtype, n, out_dtype = self.dtype, img0.shape[0], img0.dtype
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
        src = torch.cat((torch.cat((img0, f0), 1), torch.cat((img1, f1), 1)) if f0 is not None and f1 is not None
                        else (img0, img1), 0).float()
        dtype = img0.dtype
        w0, w1, wf0, wf1 = img0, img1, f0, f1
        flow = mask = feat = None
        blocks = self.blocks
        last = len(blocks) - 1
        for i, block in enumerate(blocks):
            s = scales[i]
            ens = ensemble and not (i == 0 and large)  # the reference reruns block 0 without the swapped pass
            wf = [wf0, wf1] if wf0 is not None and wf1 is not None else []
            # The pieces are concatenated at full resolution and resized together, as the reference does: the
            # bilinear kernel's last bit depends on how many channels it resizes at once. Full-resolution tensors
            # are NCHW, where this concatenation is a plain copy.
            pieces = [w0, w1, *wf, t] + ([mask] if mask is not None else []) + ([feat] if feat is not None else [])
            x = cat_resize(pieces, s)
            if flow is not None:
                x = torch.cat((x, resize(flow, 1.0 / s) / s), 1)
            keep = 5 + (arch.block_features if i < last else 0)
            fd, m, feat_out = block(x, s, keep)
            if i == 1 and arch.large_motion and large is None:
                out = self._large_motion(fd, img0, img1, t, f0, f1, scales, ensemble)
                if out is not None:
                    return out
            if ens:  # swapped pass: frames (and features) exchanged, 1 - t, -mask, flow halves swapped
                pieces = [w1, w0, *wf[::-1], 1 - t] + ([-mask] if mask is not None else [])
                xs = cat_resize(pieces, s)
                if flow is not None:
                    xs = torch.cat((xs, resize(swap_pairs(flow), 1.0 / s) / s), 1)
                fs, ms, _ = block(xs, s, keep)
                fd = (fd + swap_pairs(fs)) / 2
                m = (m + (-ms)) / 2
            flow = fd if flow is None else flow + fd
            mask = m if mask is None or arch.replace_mask else mask + m
            feat = feat_out if arch.block_features and i < last else None
            flows = torch.cat((flow[:, :2], flow[:, 2:4]), 0)
            warped = Warper.warp(src if i < last else src[:, :3], flows, dtype)
            w0, w1 = warped[:n, :3], warped[n:, :3]
            if wf0 is not None and i < last:
                wf0, wf1 = warped[:n, 3:], warped[n:, 3:]
        assert mask is not None
        mask = torch.sigmoid(mask)
        return w0 * mask + w1 * (1 - mask)

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
