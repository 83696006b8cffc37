"""The native CPU kernels (vsrife/native; on unless VSRIFE_NATIVE=0): equal to the torch operations they replace.

Where they cannot be built (not Linux, no C compiler, a torch without its own libgomp) these tests are skipped,
except the ones that check the switch and the fallback; where they can, a failed build fails the tests. Whole
networks with the kernels are compared with the same networks without them (which test_models_v4 holds to the
reference networks).
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
#: Warped values vs torch's: the kernels sum a field's terms in their own order, and the flow's last-bit differences
#: move samples by up to ~1e-5 px, which the random features' steep gradients (randn) turn into up to ~1e-4.
ATOL = 1e-4

BASE = Warper.native_base(H, W)


def _buildable() -> bool:
    """Whether this platform has what the kernels need (Linux, a C compiler, torch's bundled libgomp)."""
    return sys.platform.startswith("linux") and native._compiler() is not None and native._gomp() is not None


needs_native = pytest.mark.skipif(not _buildable(), reason="the native kernels cannot be built on this platform")


def test_kernels_build_where_they_can() -> None:
    if _buildable():
        assert native.library() is not None, native.reason()
    else:
        assert native.library() is None


def smooth(c: int, h: int = H, w: int = W, seed: int = 0, amp: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return resize(torch.rand(1, c, h // 8, w // 8, generator=g) * amp, 8.0)


def frames(c: int) -> list[torch.Tensor]:
    """[img0, img1] (+ [feat0, feat1]) as the network holds them."""
    imgs = [torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    feats = [torch.randn(1, c - 3, H, W, generator=torch.Generator().manual_seed(9 + i)) for i in range(2)]
    return imgs + feats if c > 3 else imgs


def field(c: int, seed: int = 0, amp: float = 24.0) -> tuple[list[tuple[torch.Tensor, float, float]], torch.Tensor]:
    """A field as the networks keep it (coarse terms ``resize(c * mul, f)``, a full-resolution one last) and its
    full-resolution value, for flows up to about amp / 2 px each way (samples beyond the border too)."""
    g = torch.Generator().manual_seed(seed)
    terms = [((torch.rand(1, c, H // f, W // f, generator=g) - 0.5) * amp / mul, float(f), float(mul))
             for f, mul in ((16, 16), (8, 8), (2, 2))]
    terms.append((smooth(c, seed=seed + 1, amp=amp / 8), 1.0, 1.0))
    full = sum(resize(t * mul, f) for t, f, mul in terms)
    return terms, full


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
    terms, flow = field(4)
    ref = resize(Warper.warp(nchw(fr), flow_pairs(flow), fast=True), 1.0 / k)  # [2, c, H/k, W/k]
    extras = resize(flow, 1.0 / k)[:, :3]
    out = native.warp_pairs(native.stack_sources(fr), c, terms, k, extras, [0.25, -3.0], flow_scale=0.5, base=BASE)
    assert out.shape == (1, 2 * c + 9, H // k, W // k)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out[:, :c], ref[:1], rtol=0, atol=ATOL)
    torch.testing.assert_close(out[:, c:2 * c], ref[1:], rtol=0, atol=ATOL)
    torch.testing.assert_close(out[0, 2 * c:2 * c + 2, 0, 0], torch.tensor([0.25, -3.0]), rtol=0, atol=0)
    torch.testing.assert_close(out[:, 2 * c + 2:2 * c + 5], extras, rtol=0, atol=0)
    torch.testing.assert_close(out[:, 2 * c + 5:], resize(flow, 1.0 / k) * 0.5, rtol=0, atol=2e-5)
    bf = native.warp_pairs(native.stack_sources(fr), c, terms, k, extras, [0.25, -3.0], torch.bfloat16, 0.5,
                           base=BASE)
    assert bf.dtype == torch.bfloat16
    torch.testing.assert_close(bf, out.to(torch.bfloat16), rtol=0, atol=0)  # rounded as torch rounds


@needs_native
def test_warp_pairs_without_flow_channels() -> None:
    fr = frames(7)
    terms, flow = field(4, seed=3)
    out = native.warp_pairs(native.stack_sources(fr), 7, terms, 2, base=BASE)
    assert out.shape == (1, 14, H // 2, W // 2)
    ref = resize(Warper.warp(nchw(fr), flow_pairs(flow), fast=True), 0.5)
    torch.testing.assert_close(out, torch.cat((ref[:1], ref[1:]), 1), rtol=0, atol=ATOL)


@needs_native
@pytest.mark.parametrize("k", [4, 8, 16])
def test_warp_pairs_on_a_subgrid(k: int) -> None:
    fr = frames(7)
    grid = SubGrid(k, H, W, torch.device("cpu"))
    terms, flow = field(4, seed=5)
    ref = resize(grid.warp(nchw(fr), flow_pairs(grid.take(flow))), 0.5)
    out = native.warp_pairs(native.stack_sources(fr), 7, terms, k, flow_scale=1.0 / k, base=BASE)
    assert out.shape == (1, 18, H // k, W // k)
    torch.testing.assert_close(out[:, :7], ref[:1], rtol=0, atol=ATOL)
    torch.testing.assert_close(out[:, 7:14], ref[1:], rtol=0, atol=ATOL)
    torch.testing.assert_close(out[:, 14:], resize(flow, 1.0 / k) / k, rtol=0, atol=2e-5)


@needs_native
def test_merge_equals_warp_and_blend() -> None:
    fr = frames(7)
    terms, flow = field(4, seed=7)
    mterms, mask = field(1, seed=11, amp=6.0)
    warped = Warper.warp(nchw(fr)[:, :3], flow_pairs(flow), fast=True)
    m = torch.sigmoid(mask)
    ref = warped[1:] + m * (warped[:1] - warped[1:])
    torch.testing.assert_close(native.merge(native.stack_sources(fr), terms, mterms, base=BASE), ref, rtol=0, atol=ATOL)


@needs_native
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_pixel_shuffle_equals_torch(dtype: torch.dtype) -> None:
    x = torch.randn(1, 20, 23, 37).to(dtype).contiguous(memory_format=torch.channels_last)
    out = native.pixel_shuffle(x)
    assert out is not None and out.dtype == torch.float32 and out.is_contiguous()
    assert torch.equal(out, torch.nn.functional.pixel_shuffle(x.float(), 2))
    # not its layout or shape: left to torch
    assert native.pixel_shuffle(x.contiguous()) is None
    assert native.pixel_shuffle(torch.randn(1, 6, 4, 4).contiguous(memory_format=torch.channels_last)) is None
    assert native.pixel_shuffle(torch.randn(2, 8, 4, 4).contiguous(memory_format=torch.channels_last)) is None


@needs_native
@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_flows_sample_the_corner(k: int, value: float) -> None:
    """A non-finite flow (a network that overflowed) never reads outside the frames: NaN positions clamp to 0 (as
    fmaxf does), and an infinite term turns into NaN where it is interpolated. Every sample lands on the top-left
    pixel, and the output is finite."""
    fr = frames(7)
    src = native.stack_sources(fr)
    terms, _ = field(4, seed=13)
    bad = [(torch.full_like(terms[0][0], value), terms[0][1], terms[0][2])] + terms[1:]
    out = native.warp_pairs(src, 7, bad, k, base=BASE)
    corner = nchw(fr)[:, :, :1, :1]
    torch.testing.assert_close(out, torch.cat((corner[:1], corner[1:]), 1).expand_as(out), rtol=0, atol=1e-6)
    merged = native.merge(src, bad, [(torch.zeros(1, 1, H, W), 1.0, 1.0)], base=BASE)
    expected = (corner[1:, :3] + 0.5 * (corner[:1, :3] - corner[1:, :3])).expand_as(merged)
    torch.testing.assert_close(merged, expected, rtol=0, atol=1e-6)


@needs_native
def test_fields_are_checked() -> None:
    fr = native.stack_sources(frames(3))
    terms, _ = field(4)
    with pytest.raises(AssertionError):  # a term that does not upscale to the frame's size
        native.warp_pairs(fr, 3, [(terms[0][0], 4.0, 1.0)], 2, base=BASE)
    with pytest.raises(AssertionError):  # more terms than the kernels take
        native.warp_pairs(fr, 3, terms * 3, 2, base=BASE)
    with pytest.raises(AssertionError):  # a sampling grid of another size
        native.warp_pairs(fr, 3, terms, 2, base=Warper.native_base(H, W + 8))


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


def _status(value: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != native.ENV}
    if value is not None:
        env[native.ENV] = value
    return subprocess.run([sys.executable, "-m", "vsrife", "native", *args], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("value", [None, "1"])
def test_on_by_default(value: str | None) -> None:
    res = _status(value, "--allow-missing")
    assert res.returncode == 0, res.stderr
    if native.library() is not None:
        assert res.stdout.startswith("native kernels: loaded (") and ".so)" in res.stdout
    else:
        assert res.stdout == f"native kernels: {native.reason()}\n"


@pytest.mark.parametrize("value, text", [("0", "off (VSRIFE_NATIVE=0)"),
                                         ("yes", "off (VSRIFE_NATIVE='yes': use 0 or 1)")])
def test_off_when_asked(value: str, text: str) -> None:
    res = _status(value)
    assert (res.returncode, res.stdout) == (1, f"native kernels: {text}\n")
    assert _status(value, "--allow-missing").returncode == 0


def test_no_compiler_falls_back(tmp_path) -> None:
    code = ("from vsrife import native; from vsrife.models import create_model; import torch\n"
            "net = create_model('4.26').eval().to(memory_format=torch.channels_last)\n"
            "x = torch.rand(1, 3, 64, 64)\n"
            "with torch.inference_mode(): y = net(x, x, 0.5)\n"
            "print(native.library() is None, tuple(y.shape), native.reason())")
    env = dict(os.environ, CC=str(tmp_path / "no-such-cc"), VSRIFE_MODEL_DIR=str(tmp_path / "models"))
    env.pop(native.ENV, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.startswith("True (1, 3, 64, 64) no C compiler")
