"""The optional native CPU kernels (vsrife/native, opt-in): equal to the torch operations they replace.

This module turns them on (VSRIFE_NATIVE=1). Where no C compiler is at hand they are unavailable and these tests are
skipped, except the ones that check the fallback. Whole networks with the kernels are compared with the same networks
without them (which test_models_v4 holds to the reference networks).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from vsrife import native
from vsrife.models import create_model
from vsrife.models.common import SubGrid, Warper, flow_pairs, resize
from vsrife.models.ifnet_v4 import IFNetV4

H, W = 96, 160

# opt-in: on for this module (and for the tests that run after it in this process)
os.environ[native.ENV] = "1"
native._reset()
needs_native = pytest.mark.skipif(native.library() is None, reason=f"native kernels unavailable: {native.reason()}")


def smooth(c: int, h: int = H, w: int = W, seed: int = 0, amp: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return resize(torch.rand(1, c, h // 8, w // 8, generator=g) * amp, 8.0)


def frames(c: int) -> list[torch.Tensor]:
    """[img0, img1] (+ [feat0, feat1]) as the network holds them."""
    imgs = [torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    feats = [torch.randn(1, c - 3, H, W, generator=torch.Generator().manual_seed(9 + i)) for i in range(2)]
    return imgs + feats if c > 3 else imgs


def nchw(fr: list[torch.Tensor]) -> torch.Tensor:
    """The same frames stacked on the batch axis, NCHW: what torch's warps read."""
    half = len(fr) // 2
    return torch.cat([torch.cat(fr[i::2] if half == 2 else fr[i:i + 1], 1) for i in range(2)], 0)


@needs_native
@pytest.mark.parametrize("c", [3, 7, 11, 19])
def test_stack_sources_layout(c: int) -> None:
    fr = frames(c)
    cl = native.stack_sources(fr)
    assert cl.shape == (2, H, W, native.source_channels(c)) and cl.is_contiguous()
    torch.testing.assert_close(cl[..., :c].permute(0, 3, 1, 2), nchw(fr), rtol=0, atol=0)


@needs_native
@pytest.mark.parametrize("c", [3, 7, 11, 19])
@pytest.mark.parametrize("k", [1, 2])
def test_warp_pairs_equals_grid_sample_then_downscale(c: int, k: int) -> None:
    fr = frames(c)
    flow = (smooth(4, amp=24.0) - 12.0).contiguous()  # up to 12 px each way: samples beyond the border too
    ref = resize(Warper.warp(nchw(fr), flow_pairs(flow), fast=True), 1.0 / k)  # [2, c, H/k, W/k]
    extras = resize(flow, 1.0 / k)[:, :3]
    out = native.warp_pairs(native.stack_sources(fr), c, flow, k, extras, [0.5, -1.0, 2.0], [0.25, -3.0])
    assert out.shape == (1, 2 * c + 5, H // k, W // k)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out[:, :c], ref[:1], rtol=0, atol=2e-5)
    torch.testing.assert_close(out[:, c:2 * c], ref[1:], rtol=0, atol=2e-5)
    torch.testing.assert_close(out[0, 2 * c:2 * c + 2, 0, 0], torch.tensor([0.25, -3.0]), rtol=0, atol=0)
    torch.testing.assert_close(out[:, 2 * c + 2:], extras * torch.tensor([0.5, -1.0, 2.0]).view(1, 3, 1, 1),
                               rtol=0, atol=0)
    bf = native.warp_pairs(native.stack_sources(fr), c, flow, k, extras, [0.5, -1.0, 2.0], [0.25, -3.0],
                           torch.bfloat16)
    assert bf.dtype == torch.bfloat16
    torch.testing.assert_close(bf, out.to(torch.bfloat16), rtol=0, atol=0)  # rounded as torch rounds


@needs_native
@pytest.mark.parametrize("k", [4, 8, 16])
def test_warp_pairs_on_a_subgrid(k: int) -> None:
    fr = frames(7)
    grid = SubGrid(k, H, W, torch.device("cpu"))
    flow = grid.take(smooth(4, amp=24.0) - 12.0).contiguous()  # the flow at the sub-grid's pixels
    ref = resize(grid.warp(nchw(fr), flow_pairs(flow)), 0.5)
    out = native.warp_pairs(native.stack_sources(fr), 7, flow, k)
    assert out.shape == (1, 14, H // k, W // k)
    torch.testing.assert_close(out[:, :7], ref[:1], rtol=0, atol=2e-5)
    torch.testing.assert_close(out[:, 7:], ref[1:], rtol=0, atol=2e-5)


@needs_native
def test_merge_equals_warp_and_blend() -> None:
    fr = frames(7)
    flow = (smooth(4, amp=24.0) - 12.0).contiguous()
    mask = torch.randn(1, 1, H, W) * 3
    warped = Warper.warp(nchw(fr)[:, :3], flow_pairs(flow), fast=True)
    m = torch.sigmoid(mask)
    ref = warped[1:] + m * (warped[:1] - warped[1:])
    torch.testing.assert_close(native.merge(native.stack_sources(fr), flow, mask), ref, rtol=0, atol=2e-5)


@needs_native
@pytest.mark.parametrize("name", ["4.0", "4.6", "4.10", "4.22", "4.26"])
def test_network_with_and_without_native_kernels(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    net = create_model(name).eval().to(memory_format=torch.channels_last)
    img0, img1 = smooth(3, 128, 192, seed=1), smooth(3, 128, 192, seed=2)
    with torch.inference_mode():
        fast = net(img0, img1, 0.5)
        monkeypatch.setattr(IFNetV4, "_native_source", lambda self, *a: None)
        plain = net(img0, img1, 0.5)
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-4)


@pytest.mark.parametrize("value", [None, "0"])
def test_off_unless_asked_for(value: str | None) -> None:
    code = "from vsrife import native; print(native.library() is None, native.reason())"
    env = {k: v for k, v in os.environ.items() if k != native.ENV}
    if value is not None:
        env[native.ENV] = value
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out == f"True off (set {native.ENV}=1)\n"


def test_no_compiler_falls_back(tmp_path) -> None:
    code = ("from vsrife import native; from vsrife.models import create_model; import torch\n"
            "net = create_model('4.26').eval().to(memory_format=torch.channels_last)\n"
            "x = torch.rand(1, 3, 64, 64)\n"
            "with torch.inference_mode(): y = net(x, x, 0.5)\n"
            "print(native.library() is None, tuple(y.shape), native.reason())")
    env = dict(os.environ, CC=str(tmp_path / "no-such-cc"), VSRIFE_MODEL_DIR=str(tmp_path / "models"),
               **{native.ENV: "1"})
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.startswith("True (1, 3, 64, 64) no C compiler")
