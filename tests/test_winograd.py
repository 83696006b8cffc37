"""NNPACK's Winograd body convolutions (models.winograd) and the OpenMP spin setting they need (vsrife.openmp).

Whole networks with Winograd bodies are held to the reference networks in test_models_v4 and test_models_hd.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vsrife import openmp
from vsrife.models import create_model, winograd
from vsrife.models.ifnet_v4 import IFBlock, ResConv

ROOT = Path(__file__).resolve().parents[1]
needs_nnpack = pytest.mark.skipif(not winograd.available(), reason="this PyTorch has no NNPACK")


@needs_nnpack
@pytest.mark.parametrize("c,h,w", [(8, 13, 21), (64, 24, 40), (96, 48, 80)])
def test_conv3x3_equals_direct_convolution(c: int, h: int, w: int) -> None:
    torch.manual_seed(c)
    conv = nn.Conv2d(c, c, 3, 1, 1)
    x = torch.randn(1, c, h, w)
    with torch.inference_mode():
        ref = F.conv2d(x, conv.weight, conv.bias, 1, 1)
        out = winograd.conv3x3(x, conv)
    assert out.is_contiguous() and out.shape == ref.shape
    assert (out - ref).abs().max().item() <= 1e-5 * ref.abs().max().item() * 10


@needs_nnpack
def test_conv3x3_leaves_what_it_cannot_take_to_the_layer(monkeypatch) -> None:
    """channels_last or reduced-precision inputs go through the layer itself (oneDNN), untouched."""
    calls = []
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution",
                        lambda *a: calls.append(1) or (_ for _ in ()).throw(AssertionError("NNPACK called")))
    conv = nn.Conv2d(16, 16, 3, 1, 1)
    x = torch.randn(1, 16, 20, 30)
    with torch.inference_mode():
        out = winograd.conv3x3(x.contiguous(memory_format=torch.channels_last), conv)
        torch.testing.assert_close(out, conv(x), rtol=0, atol=1e-5)
        low = conv.to(torch.bfloat16)
        winograd.conv3x3(x.to(torch.bfloat16), low)
    assert not calls


def test_pays_only_for_large_plain_3x3_convolutions() -> None:
    big = nn.Conv2d(96, 96, 3, 1, 1)
    assert winograd.pays(big, 48, 80)
    assert not winograd.pays(big, 24, 40)  # too few pixels: oneDNN is faster
    assert not winograd.pays(nn.Conv2d(64, 64, 3, 1, 1), 192, 320)  # too few channels to pay for the workspace
    assert winograd.pays(nn.Conv2d(90, 90, 3, 1, 1), 192, 320)  # 3.6
    assert not winograd.pays(nn.Conv2d(90, 90, 3, 1, 1), 272, 480)  # 3.6 at 1080p: a 170 MB workspace
    assert not winograd.pays(nn.Conv2d(96, 96, 3, 2, 1), 96, 160)  # stride 2
    assert not winograd.pays(nn.Conv2d(96, 96, 3, 1, 1, groups=2), 96, 160)  # grouped (4.14.lite)


@needs_nnpack
@pytest.mark.parametrize("name,index", [("4.0", 2), ("4.6", 2), ("4.26", 2)])
def test_block_body_runs_nnpack_in_nchw(name: str, index: int, monkeypatch) -> None:
    """A block that pays (96 channels) runs all eight body convolutions by NNPACK and hands back its layout."""
    model = create_model(name).to(memory_format=torch.channels_last)
    block: IFBlock = model.blocks[index]
    first = block.convblock[0]
    c = (first.conv if isinstance(first, ResConv) else first[0]).in_channels
    feat = torch.randn(1, c, 48, 80).contiguous(memory_format=torch.channels_last)
    real, calls = torch._nnpack_spatial_convolution, []
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", lambda *a: calls.append(a[0].shape) or real(*a))
    with torch.inference_mode():
        direct = block._body(feat, False)
        assert not calls
        wino = block._body(feat, True)
    assert len(calls) == 8
    assert wino.is_contiguous(memory_format=torch.channels_last)
    assert (wino - direct).abs().max().item() <= 1e-4 * direct.abs().max().item()


def _python(code: str, env: dict[str, str]) -> str:
    full = {k: v for k, v in os.environ.items()
            if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", openmp.ENV)} | env
    return subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_sets_a_short_spin_before_torch() -> None:
    code = ("import sys, os; import vsrife; from vsrife import openmp; assert 'torch' not in sys.modules; "
            "print(os.environ.get('GOMP_SPINCOUNT'), openmp.short_spin())")
    assert _python(code, {}) == f"{openmp.SPIN_COUNT} True"


def test_import_leaves_the_users_settings_alone() -> None:
    code = "import os, vsrife; from vsrife import openmp; print(os.environ.get('GOMP_SPINCOUNT'), openmp.short_spin())"
    assert _python(code, {"GOMP_SPINCOUNT": "300000"}) == "300000 False"
    assert _python(code, {"GOMP_SPINCOUNT": "1000"}) == "1000 True"
    assert _python(code, {"OMP_WAIT_POLICY": "passive"}) == "None True"


@pytest.mark.parametrize("value, spin", [("0", "None False"), ("1", f"{openmp.SPIN_COUNT} True")])
def test_opt_out_of_the_spin_setting(value: str, spin: str) -> None:
    """VSRIFE_OMP_SPIN=0: import vsrife leaves the process's OpenMP settings alone (and Winograd stays off)."""
    code = ("import os, vsrife; from vsrife import openmp; "
            "print(os.environ.get('GOMP_SPINCOUNT'), openmp.short_spin())")
    assert _python(code, {openmp.ENV: value}) == spin


def test_spin_opt_out_with_a_bad_value_warns_and_sets_nothing() -> None:
    code = ("import os, warnings; warnings.simplefilter('error')\n"
            "try:\n    import vsrife\nexcept RuntimeWarning as w:\n    print(w)\n"
            "print(os.environ.get('GOMP_SPINCOUNT'))")
    out = _python(code, {openmp.ENV: "off"})
    assert out == "vsrife: VSRIFE_OMP_SPIN='off' is neither 0 nor 1: GOMP_SPINCOUNT is left alone\nNone"


def test_torch_imported_first_keeps_onednn() -> None:
    """Too late to change libgomp's spin: no setting, and the engine's default stays oneDNN."""
    code = ("import os, torch, vsrife; from vsrife import openmp; from vsrife.engine import Engine; "
            "from vsrife.color import PlaneFormat; from vsrife.models import create_model; import vapoursynth as vs; "
            "e = Engine(create_model('4.6'), fmt=PlaneFormat.from_vs(vs.core.get_video_format(vs.RGBS)), width=64, "
            "height=64, device=torch.device('cpu'), dtype=torch.float32); "
            "print(os.environ.get('GOMP_SPINCOUNT'), openmp.short_spin(), e.winograd)")
    assert _python(code, {}) == "None False False"


@needs_nnpack
def test_engine_default_uses_winograd_in_fp32_on_the_cpu_only() -> None:
    import vapoursynth as vs

    from vsrife.color import PlaneFormat
    from vsrife.engine import Engine

    fmt = PlaneFormat.from_vs(vs.core.get_video_format(vs.RGBS))

    def engine(**kw) -> Engine:
        return Engine(create_model("4.6"), fmt=fmt, width=64, height=64, device=torch.device("cpu"), **kw)

    assert engine(dtype=torch.float32).winograd is openmp.short_spin()
    assert engine(dtype=torch.float32).model.winograd is openmp.short_spin()
    assert not engine(dtype=torch.bfloat16).winograd
    assert not engine(dtype=torch.float32, winograd=False).model.winograd
    assert engine(dtype=torch.float32, winograd=True).model.winograd
