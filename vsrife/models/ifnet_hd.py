"""ECCV2022-RIFE HD v3.6 (inference only: the training-time teacher block is not built).

Three PReLU blocks at resize divisors 4, 2, 1 (divided by the user scale). Every block runs on the current estimate
and on its swapped counterpart (frames exchanged, -mask, flow halves swapped) and averages both. There is no timestep
input: the network makes the middle frame only.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from . import winograd as wg
from .common import (NoEncoder, RifeModel, Warper, cat_resize, conv_act, conv_format, flow_pairs, resize,
                     swap_pairs)
from .specs import HDArch, ModelSpec

__all__ = ["IFNetHD"]


class HDBlock(nn.Module):
    """conv0 (two stride-2 convs) -> four residual conv pairs -> flow head (conv1) and mask head (conv2)."""

    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(conv_act(cin, c // 2, True, 2), conv_act(c // 2, c, True, 2))
        for i in range(4):
            self.add_module(f"convblock{i}", nn.Sequential(conv_act(c, c, True), conv_act(c, c, True)))
        self.conv1 = self._head(c, 4)
        self.conv2 = self._head(c, 1)

    @staticmethod
    def _head(c: int, out: int) -> nn.Sequential:
        return nn.Sequential(nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.PReLU(c // 2),
                             nn.ConvTranspose2d(c // 2, out, 4, 2, 1))

    def forward(self, x: Tensor, s: float, winograd: bool = False) -> tuple[Tensor, Tensor]:
        """x: input at 1/s resolution (flow last). Returns the full-resolution flow and mask. ``winograd``: run the
        residual pairs with :mod:`.winograd` where it pays."""
        fmt = conv_format(self.conv0)
        feat = self.conv0(x.contiguous(memory_format=fmt))
        pairs = [getattr(self, f"convblock{i}") for i in range(4)]
        if winograd and wg.pays(pairs[0][0][0], *feat.shape[-2:]):  # pair -> (conv, act) -> conv
            feat = feat.contiguous()
            for pair in pairs:
                y = feat
                for layer in pair:
                    y = wg.conv_act(layer, y)
                feat = y + feat
            feat = feat.contiguous(memory_format=fmt)
        else:
            for pair in pairs:
                feat = pair(feat) + feat
        # Back to NCHW before resizing to full resolution: full-resolution glue is fastest in NCHW.
        return resize(self.conv1(feat).contiguous(), s) * s, resize(self.conv2(feat).contiguous(), s)


class IFNetHD(RifeModel):
    """RIFE HD v3.6 behind the common :class:`RifeModel` interface (t = 0.5 only, always symmetric)."""

    arch: HDArch

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        assert isinstance(spec.arch, HDArch)
        self.arch = spec.arch
        for i in range(len(self.arch.scales)):
            self.add_module(f"block{i}", HDBlock(7 + 4, self.arch.width))
        self.encode = NoEncoder()

    def forward(self, img0: Tensor, img1: Tensor, timestep: float | Tensor = 0.5, feat0: Tensor | None = None,
                feat1: Tensor | None = None, scale: float = 1.0, ensemble: bool = False) -> Tensor:
        """Middle frame of img0 and img1. ``timestep`` must be 0.5; feat0/feat1 and ensemble are ignored."""
        half = bool((timestep == 0.5).all()) if isinstance(timestep, Tensor) else float(timestep) == 0.5
        if not half:
            raise ValueError(f"model {self.spec.name} only interpolates at timestep 0.5")
        self._check(img0, img1, scale, False)
        out_dtype, dtype, n = img0.dtype, self.dtype, img0.shape[0]
        img0, img1 = img0.to(dtype), img1.to(dtype)
        src = torch.cat((img0, img1), 0).float()
        w0, w1 = img0, img1
        flow = img0.new_zeros(n, 4, *img0.shape[-2:])  # the estimate starts at zero, as in the reference
        mask = img0.new_zeros(n, 1, *img0.shape[-2:])
        wino = self.fast and self.winograd
        for i, s in enumerate(b / scale for b in self.arch.scales):
            x = torch.cat((cat_resize((w0, w1, mask), s), resize(flow, 1.0 / s) * 1.0 / s), 1)
            xs = torch.cat((cat_resize((w1, w0, -mask), s), resize(swap_pairs(flow), 1.0 / s) * 1.0 / s), 1)
            block = getattr(self, f"block{i}")
            f0, m0 = block(x, s, wino)
            f1, m1 = block(xs, s, wino)
            flow = flow + (f0 + swap_pairs(f1)) / 2
            mask = mask + (m0 + (-m1)) / 2
            warped = Warper.warp(src, flow_pairs(flow), dtype)
            w0, w1 = warped[:n], warped[n:]
        mask = torch.sigmoid(mask)
        return (w0 * mask + w1 * (1 - mask)).to(out_dtype)
