"""The pieces of the v4 fast path (RifeModel.fast): each equals the full-resolution computation it replaces.

The whole fast path is held to the reference networks in test_models_v4 (within 1e-3, on every name); these tests
pin down the identities it relies on, so a regression points at the piece that broke.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vsrife.models import create_model
from vsrife.models.common import SplitInput, SubGrid, Warper, conv_upsampled, flow_pairs, join_channels, resize
from vsrife.models.ifnet_v4 import _Field, _stack_sources

H, W = 96, 160


def smooth(c: int, h: int = H, w: int = W, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return resize(torch.rand(1, c, h // 8, w // 8, generator=g), 8.0)


@pytest.mark.parametrize("k", [4, 8, 16, 32])
def test_subgrid_holds_what_a_downscale_reads(k: int) -> None:
    x = torch.rand(2, 5, H * 2, W * 2)
    grid = SubGrid(k, H * 2, W * 2, x.device)
    assert grid.rows.numel() == 2 * H * 2 // k and grid.cols.numel() == 2 * W * 2 // k
    torch.testing.assert_close(resize(grid.take(x), 0.5), resize(x, 1.0 / k), rtol=0, atol=1e-6)


@pytest.mark.parametrize("k,f", [(4, 8), (4, 16), (8, 16), (16, 32), (4, 4)])
def test_subgrid_upsample_equals_full_upsample_there(k: int, f: int) -> None:
    grid = SubGrid(k, H * 2, W * 2, torch.device("cpu"))
    coarse = torch.randn(1, 4, H * 2 // f, W * 2 // f)
    torch.testing.assert_close(grid.upsample(coarse, f), grid.take(resize(coarse, f)), rtol=0, atol=1e-5)


def test_subgrid_warp_equals_full_warp_there() -> None:
    src = smooth(7).repeat(2, 1, 1, 1)
    flow = resize(torch.randn(2, 2, H // 8, W // 8) * 3, 8.0)
    grid = SubGrid(8, H, W, src.device)
    full = Warper.warp(src, flow)
    torch.testing.assert_close(grid.warp(src, grid.take(flow)), grid.take(full), rtol=0, atol=1e-5)
    torch.testing.assert_close(Warper.warp(src, flow, fast=True), full, rtol=0, atol=1e-5)


@pytest.mark.parametrize("k", [1, 2, 4, 8, 0.5])
def test_field_down_equals_resized_full(k: float) -> None:
    """Flow as the cascade builds it: terms upscaled by 16, 8, 4 (times their factors) plus a full-resolution one;
    a block at divisor k sees the terms of earlier blocks (f >= 2k). Other mixes take the full-resolution way."""
    terms = [(torch.randn(1, 4, H * 4 // f, W * 4 // f), float(f), float(f)) for f in (32, 16, 8, 4)]
    terms.append((torch.randn(1, 4, H * 4, W * 4), 1.0, 1.0))
    for sel in (terms[:4], terms[:2], terms, [terms[0], terms[4]]):
        expect = _Field(list(sel)).full()
        got = _Field(list(sel)).down(k)
        torch.testing.assert_close(got, resize(expect, 1.0 / k), rtol=0, atol=1e-4)


def test_field_full_keeps_sum_order_and_collapses() -> None:
    a, b = torch.randn(1, 4, 12, 20), torch.randn(1, 4, 24, 40)
    field = _Field([(a, 8.0, 8.0)]) + _Field([(b, 4.0, 4.0)])
    full = field.full()
    torch.testing.assert_close(full, resize(a, 8.0) * 8 + resize(b, 4.0) * 4, rtol=0, atol=1e-5)
    assert len(field.terms) == 1 and field.full() is full


@pytest.mark.parametrize("fmt", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_join_channels_equals_cat(fmt: torch.memory_format, dtype: torch.dtype) -> None:
    stack = torch.rand(2, 7, H, W)
    t = torch.full((1, 1, 1, 1), 0.25)
    pieces = [stack[:1, :3], stack[1:, :3], stack[:1, 3:], stack[1:, 3:], t, torch.rand(1, 9, H, W)]
    out = join_channels(pieces, fmt, dtype)
    assert out.dtype == dtype and out.is_contiguous(memory_format=fmt) and out.shape == (1, 24, H, W)
    expect = torch.cat([p.expand(1, -1, H, W) for p in pieces], 1).to(dtype)
    assert torch.equal(out, expect)


def test_field_half_is_the_map_down_upscales() -> None:
    a = torch.randn(1, 1, 12, 20)
    one = _Field([(a, 8.0, 2.0)])
    half = one.half(4.0)
    assert half is not None and torch.equal(resize(half, 2.0), one.down(4.0))
    assert one.half(2.0) is None  # an 4x upscale, not 2x
    assert (one + _Field([(a, 4.0, 1.0)])).half(2.0) is None  # two terms


@pytest.mark.parametrize(("hc", "wc"), [(1, 3), (2, 2), (3, 5), (12, 20)])
def test_conv_upsampled_equals_conv_of_upscale(hc: int, wc: int) -> None:
    """A stride-2 3x3 convolution of a 2x upscale, computed on the coarse map: equal (fp64), borders included."""
    torch.manual_seed(hc * 10 + wc)
    c = torch.randn(2, 9, hc, wc, dtype=torch.float64)
    w, b = torch.randn(16, 9, 3, 3, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
    torch.testing.assert_close(conv_upsampled(c, w, b), F.conv2d(resize(c, 2.0), w, b, 2, 1), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("n", "h", "w"), [(1, 8, 12), (2, 8, 12), (1, 2, 2), (2, 5, 7), (1, 36, 4)])
def test_split_input_equals_joined_convolution(n: int, h: int, w: int) -> None:
    """Permuted, scaled, constant, half-resolution and wide (cut into several convolutions) parts, as one conv."""
    torch.manual_seed(n * 100 + h)
    conv = torch.nn.Conv2d(24, 16, 3, 2, 1).double()
    a = torch.randn(n, 19, h, w, dtype=torch.float64)  # wider than SplitInput.MAX_CHANNELS
    t = torch.rand(n, 1, 1, 1, dtype=torch.float64)
    even = h % 2 == 0 and w % 2 == 0
    coarse = torch.randn(n, 2, h // 2, w // 2, dtype=torch.float64) if even else None
    fine = resize(coarse, 2.0) if coarse is not None else torch.randn(n, 2, h, w, dtype=torch.float64)
    b = torch.randn(n, 2, h, w, dtype=torch.float64)
    x = SplitInput()
    x.add(a, [*range(1, 19), 0])  # a's last channel is input channel 0
    x.add_constant(t, 19)
    x.add(coarse if even else fine, [20, 21], -0.5, half=even)
    x.add(b, [23, 22], 2.0)
    joined = torch.cat((a[:, 18:], a[:, :18], t.expand(n, 1, h, w), -0.5 * fine, 2.0 * b.flip(1)), 1)
    torch.testing.assert_close(x.conv(conv), conv(joined), rtol=0, atol=1e-12)


def test_pairs_and_stack_sources() -> None:
    flow = torch.randn(1, 4, H, W)
    pairs = flow_pairs(flow)
    assert pairs.data_ptr() == flow.data_ptr()  # a view for one sample
    assert torch.equal(pairs, torch.cat((flow[:, :2], flow[:, 2:4]), 0))
    flow2 = torch.randn(3, 4, H, W)
    assert torch.equal(flow_pairs(flow2), torch.cat((flow2[:, :2], flow2[:, 2:4]), 0))
    img0, img1, f0, f1 = torch.rand(2, 3, H, W), torch.rand(2, 3, H, W), torch.rand(2, 4, H, W), torch.rand(2, 4, H, W)
    expect = torch.cat((torch.cat((img0, f0), 1), torch.cat((img1, f1), 1)), 0)
    assert torch.equal(_stack_sources(img0, img1, f0, f1), expect)
    assert torch.equal(_stack_sources(img0, img1, None, None), torch.cat((img0, img1), 0))


@pytest.mark.parametrize("name", ["4.6", "4.26"])
def test_fast_path_in_bf16_keeps_fp32_glue(name: str) -> None:
    """bf16 convolutions with fp32 glue stay as close to fp32 as the exact bf16 path does (or closer)."""
    torch.manual_seed(0)
    model = create_model(name)
    img0, img1 = smooth(3, 128, 192, 1), smooth(3, 128, 192, 2)
    with torch.inference_mode():
        model.fast = True
        ref = model(img0, img1, 0.5)
        low = model.to(torch.bfloat16)
        fast = low(img0, img1, 0.5)
        cpu = low.to(memory_format=torch.channels_last)(img0, img1, 0.5)  # as the CPU engine runs it
        low.fast = False
        exact = low(img0.bfloat16(), img1.bfloat16(), 0.5).float()
    assert fast.dtype == torch.float32 and cpu.dtype == torch.float32
    err_exact = (exact - ref).abs().mean().item()
    for got in (fast, cpu):
        err = (got - ref).abs().mean().item()
        assert err <= err_exact * 1.5 + 1e-4, (err, err_exact)


@pytest.mark.parametrize("name", ["4.6", "4.26"])
def test_folding_beta_keeps_the_network(name: str) -> None:
    """ResConv's beta folded into its convolution (what the engine does on the fast path) gives the same frame; loading
    weights again unfolds it."""
    from vsrife.models.ifnet_v4 import ResConv

    torch.manual_seed(3)
    model = create_model(name).eval()
    units = [m for m in model.modules() if isinstance(m, ResConv)]
    assert units
    for m in units:
        m.beta.data.uniform_(0.2, 1.8)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    img0, img1 = smooth(3, 128, 192, seed=1), smooth(3, 128, 192, seed=2)
    with torch.inference_mode():
        ref = model(img0, img1, 0.4)
        model.fold_for_inference()
        assert all(m.folded and bool((m.beta == 1).all()) for m in units)
        torch.testing.assert_close(model(img0, img1, 0.4), ref, rtol=0, atol=2e-5)
    model.load_state_dict(sd)
    assert not any(m.folded for m in units)
    with torch.inference_mode():
        torch.testing.assert_close(model(img0, img1, 0.4), ref, rtol=0, atol=0)


def test_the_engine_folds_on_the_fast_path() -> None:
    from vsrife.color import RGB, PlaneFormat
    from vsrife.engine import Engine
    from vsrife.models.ifnet_v4 import ResConv

    model = create_model("4.26")
    Engine(model, fmt=PlaneFormat(RGB, 8, False), width=64, height=64, device=torch.device("cpu"),
           dtype=torch.float32)
    assert all(m.folded for m in model.modules() if isinstance(m, ResConv))
