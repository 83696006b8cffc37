"""Winograd 3x3 convolutions on the CPU, through the NNPACK build inside PyTorch.

The blocks' bodies are chains of 3x3 stride-1 convolutions. oneDNN computes them directly, at 80-90 % of the CPU's
FMA peak; NNPACK's Winograd F(6x6, 3x3) needs about 5x fewer multiplications. Measured on 2 cores (AVX-512), eight
body layers with their activations, interleaved medians: 90-128 channels on 48x80 to 192x320 pixels run 1.36-1.87x
faster (90 channels most: oneDNN is slow off multiples of 16), 64 channels 0.96-1.19x, fewer than 3,000 pixels
0.9-1.04x. NNPACK also keeps a workspace of about 3.7x the largest activation it has seen (55 MB for 64 channels
at 192x320, 78 MB for 3.6's 90 at 192x320), for the life of the process. So :func:`pays` takes bodies of 80
channels and more, on 3,000 pixels and more, with activations up to 32 MiB (a workspace up to about 120 MB). Its
rounding differs from a direct convolution by about 1e-5 of the activations' range; the tests hold whole networks
within 1e-3 of the reference (the fast path's bound).

NNPACK takes NCHW fp32 CPU tensors only, so a block runs its body in NCHW when it uses it; it keeps a thread pool of
its own (sized from torch's thread count at its first call), which is why :mod:`vsrife.openmp` shortens OpenMP's
spin-wait.
"""
from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

__all__ = ["available", "pays", "conv3x3", "conv_act"]

#: A body pays off from this many channels ...
MIN_CHANNELS = 80
#: ... and this many pixels (H * W of the body's input) ...
MIN_PIXELS = 3000
#: ... up to activations of this size (NNPACK's workspace is about 3.7x it).
MAX_ACTIVATION_BYTES = 32 << 20


@functools.cache
def available() -> bool:
    """Whether this PyTorch build has NNPACK and it initialises on this CPU (the call also initialises it)."""
    try:
        return bool(torch._nnpack_available())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without NNPACK
        return False


def pays(conv: nn.Conv2d, h: int, w: int) -> bool:
    """Whether ``conv`` qualifies (3x3, stride 1, padding 1, ungrouped, undilated) and a body of its size on
    ``h`` x ``w`` inputs is clearly faster with NNPACK than with oneDNN, for a bounded workspace."""
    return (conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
            and conv.dilation == (1, 1) and conv.groups == 1 and conv.in_channels >= MIN_CHANNELS
            and h * w >= MIN_PIXELS and conv.in_channels * h * w * 4 <= MAX_ACTIVATION_BYTES)


def conv3x3(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """``conv(x)`` by NNPACK for an NCHW fp32 CPU ``x`` (returned NCHW); the layer's own forward otherwise."""
    if x.dtype != torch.float32 or x.device.type != "cpu" or not x.is_contiguous() or not available():
        return conv(x)
    return torch._nnpack_spatial_convolution(x, conv.weight.contiguous(), conv.bias, [1, 1], [1, 1])


def conv_act(layer: nn.Sequential, x: Tensor) -> Tensor:
    """A (convolution, activation) pair (``common.conv_act``) with the convolution by :func:`conv3x3`."""
    return layer[1](conv3x3(x, layer[0]))
