"""The engine's fast paths (channels_last convolutions, bf16) against the plain fp32 NCHW network."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np
import pytest
import torch

from vsrife import models
from vsrife.color import RGB, PlaneFormat
from vsrife.engine import EngineError, Engine, resolve_device, resolve_precision

W, H = 256, 144


@pytest.fixture(scope="module")
def frames(sample_video) -> list[np.ndarray]:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(sample_video), "-vf", f"select='eq(n\\,40)+eq(n\\,41)',"
                          f"scale={W}:{H}", "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "gbrp", "-"],
                         capture_output=True, check=True).stdout
    planes = np.frombuffer(raw, np.uint8).reshape(2, 3, H, W)
    return [[p[2], p[0], p[1]] for p in planes]  # gbrp stores g, b, r: reorder to r, g, b


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def run(model_name: str, sd, frames, precision: str, t: float = 0.5) -> list[np.ndarray]:
    net = models.create_model(model_name, sd)
    dev = resolve_device("cpu")
    eng = Engine(net, fmt=PlaneFormat(RGB, 8, False), width=W, height=H, device=dev,
                 dtype=resolve_precision(precision, dev, False))
    return eng.interpolate(0, frames[0], {}, 1, frames[1], {}, Fraction(t).limit_denominator(64))


def test_channels_last_engine_equals_plain_network(weights_40, frames):
    from vsrife import weights

    sd = weights.load_state_dict(weights_40)
    got = run("4.0", sd, frames, "fp32")
    # The plain network in NCHW, fp32, on the same padded input.
    net = models.create_model("4.0", sd)
    m = net.spec.pad_multiple(1.0)
    ph, pw = -(-H // m) * m, -(-W // m) * m
    x = [torch.from_numpy(np.stack(f)).float().div(255).unsqueeze(0) for f in frames]
    x = [torch.nn.functional.pad(v, (0, pw - W, 0, ph - H)) for v in x]
    with torch.inference_mode():
        ref = net(x[0], x[1], 0.5)[0, :, :H, :W].clamp(0, 1).mul(255).round().to(torch.uint8).numpy()
    diff = max(int(np.abs(g.astype(int) - r.astype(int)).max()) for g, r in zip(got, ref))
    assert diff <= 1


def test_bf16_close_to_fp32_on_real_frames(weights_40, frames):
    from vsrife import weights

    sd = weights.load_state_dict(weights_40)
    a = run("4.0", sd, frames, "fp32", 0.25)
    b = run("4.0", sd, frames, "bf16", 0.25)
    assert min(psnr(x, y) for x, y in zip(a, b)) > 40.0


def test_precision_rules(monkeypatch):
    import vsrife.engine

    cpu = torch.device("cpu")
    # None on the CPU: bf16 exactly where the CPU has it natively (AVX-512 BF16 / AMX), else fp32.
    monkeypatch.setattr(vsrife.engine, "native_bf16", lambda: False)
    assert resolve_precision(None, cpu, True) == torch.float32
    assert resolve_precision(None, cpu, False) == torch.float32
    monkeypatch.setattr(vsrife.engine, "native_bf16", lambda: True)
    assert resolve_precision(None, cpu, False) == torch.bfloat16
    assert resolve_precision("fp32", cpu, False) == torch.float32
    assert resolve_precision("bf16", cpu, False) == torch.bfloat16
    with pytest.raises(EngineError, match="fp16.*not supported on the CPU"):
        resolve_precision("fp16", cpu, False)
    with pytest.raises(EngineError, match="precision must be one of"):
        resolve_precision("int8", cpu, False)


def _hd_engine(cache_frames: int = 4):
    from conftest import BlendModel, FakeSpec

    model = BlendModel(FakeSpec(name="fakehd", family="hd", ensemble=False, arbitrary_timestep=False,
                                has_encoder=False))
    eng = Engine(model, fmt=PlaneFormat(RGB, 8, False), width=16, height=16, device=torch.device("cpu"),
                 dtype=torch.float32, cache_frames=cache_frames)
    return eng, model


def test_hd_midpoints_evicted_least_recently_used_first():
    """3.6 (t = 0.5 only) at 8x: seven midpoints per pair, each made once. The midpoint cache evicted in insertion
    order (t = 1/2 went while still in use): 24 forwards for three pairs instead of 21."""
    eng, model = _hd_engine()
    planes = [[np.full((16, 16), 40 * i, np.uint8)] * 3 for i in range(4)]
    for a in range(3):
        for k in range(1, 8):
            out = eng.interpolate(a, planes[a], {}, a + 1, planes[a + 1], {}, Fraction(k, 8))
            assert int(out[0][0, 0]) == round(40 * a + 40 * k / 8)
    forwards = [t for kind, t in model.calls if kind == "forward"]
    assert forwards == [0.5] * 21 and len(eng._mids) == 4


@pytest.mark.parametrize("cache_frames", [2, 3])
def test_hd_midpoints_correct_with_a_small_cache(cache_frames: int):
    """An evicted midpoint that bounds the interval being halved is never overwritten by the new one."""
    eng, model = _hd_engine(cache_frames)
    planes = [[np.full((16, 16), 64 * i, np.uint8)] * 3 for i in range(3)]
    for a in range(2):
        for k in (9, 1, 7, 15, 4, 12, 8, 3):  # 9/16 first: 1/2, 3/4, 5/8 (evicting 1/2, its lower bound), 9/16
            out = eng.interpolate(a, planes[a], {}, a + 1, planes[a + 1], {}, Fraction(k, 16))
            assert int(out[0][0, 0]) == 64 * a + 4 * k, (a, k)


def test_native_bf16_reads_the_cpu_flags(tmp_path):
    from vsrife import cpu

    info = tmp_path / "cpuinfo"
    for flags, want in (("fpu avx2 avx512f avx512bw", False), ("fpu avx512f avx512_bf16", True),
                        ("fpu amx_tile amx_bf16", True), ("", False)):
        info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
        assert cpu.native_bf16(cpu.read_flags(str(info))) is want, flags
    missing = cpu.read_flags(str(tmp_path / "none"))
    assert missing == frozenset() and not cpu.native_bf16(missing) and cpu.reduced_precision_flags(missing) == []
    assert cpu.reduced_precision_flags(frozenset({"avx512_fp16", "avx512_bf16"})) == ["avx512_bf16", "avx512_fp16"]
