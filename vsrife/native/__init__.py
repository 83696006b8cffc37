"""Optional native CPU kernels (``warp.c``), opt-in (``VSRIFE_NATIVE=1``), compiled on first use.

The v4 networks' fast path spends much of its CPU time warping full-resolution frames and features
(``grid_sample``), building the sampling grids and downscaling the warped result, each a pass over tens of
megabytes. :func:`warp_pairs` does the warp, the 2x2 average of a downscale and the channels_last layout of the
next convolution in one pass.

Built with the system's C compiler (``$CC``, else ``cc`` or ``gcc``) against the OpenMP runtime that torch itself
loaded (``torch/lib/libgomp.so.1``), so the kernels share torch's thread pool; the library is cached under the
user cache directory, keyed by the source, the compiler, torch's version and the CPU. Unless ``VSRIFE_NATIVE=1``
is set, or where anything is missing (Windows, macOS, no compiler), :func:`library` returns None and the networks
use torch's own operations: same results within float rounding (the tests compare both).

Off by default: measured at 720p, 4.26 forwards ran 4-5 % faster in-process, but whole ``vspipe`` runs showed no
gain beyond the machine's drift (see the README's Speed section); not worth compiling code on users' machines.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["ENV", "library", "merge", "reason", "source_channels", "stack_sources", "warp_pairs"]

#: Environment variable: "1" turns the native kernels on.
ENV = "VSRIFE_NATIVE"
_SOURCE = Path(__file__).with_name("warp.c")
_VERSION = 5  # vsrife_native_version() of warp.c
_STRIDES = (4, 8, 12, 16, 20, 24)  # channel strides warp.c is compiled for
MAX_WIDTH = 8192  # MAXW in warp.c

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_tried = False
_reason = "not tried yet"


def reason() -> str:
    """Why :func:`library` returned None (or "loaded")."""
    return _reason


def _reset() -> None:
    """Forget the outcome of :func:`library` (tests)."""
    global _lib, _tried, _reason
    with _lock:
        _lib, _tried, _reason = None, False, "not tried yet"


def _gomp() -> Path | None:
    """torch's own OpenMP runtime (the PyPI wheels on Linux bundle GNU libgomp)."""
    lib = Path(torch.__file__).parent / "lib" / "libgomp.so.1"
    return lib if lib.is_file() else None


def _compiler() -> str | None:
    cc = os.environ.get("CC")
    return shutil.which(cc) if cc else (shutil.which("cc") or shutil.which("gcc"))


def _cpu_key() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return ""


def _cache_dir() -> Path:
    from ..weights import model_dir

    return model_dir().parent / "native"


def _build(cc: str, gomp: Path) -> Path:
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256("\0".join((_SOURCE.read_text(), cc, version, torch.__version__, _cpu_key(),
                                    str(gomp))).encode()).hexdigest()[:16]
    target = _cache_dir() / f"vsrife_native_{key}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [cc, "-O3", "-march=native", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC", str(_SOURCE), "-o", tmp,
               f"-L{gomp.parent}", f"-l:{gomp.name}", f"-Wl,-rpath,{gomp.parent}"]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise OSError(f"{cc} failed: {res.stderr.strip()[-500:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def library() -> ctypes.CDLL | None:
    """The compiled kernels, built on first use; None where they are unavailable (see :func:`reason`)."""
    global _lib, _tried, _reason
    if _tried:
        return _lib
    with _lock:
        if _tried:
            return _lib
        try:
            if os.environ.get(ENV, "0") != "1":
                _reason = f"off (set {ENV}=1)"
            elif not sys.platform.startswith("linux"):
                _reason = "Linux only"
            elif (gomp := _gomp()) is None:
                _reason = "torch bundles no libgomp"
            elif (cc := _compiler()) is None:
                _reason = "no C compiler (set CC)"
            else:
                lib = ctypes.CDLL(str(_build(cc, gomp)))
                if lib.vsrife_native_version() != _VERSION:
                    raise OSError("stale library")
                f, i, p = ctypes.c_float, ctypes.c_int, ctypes.c_void_p
                lib.vsrife_warp_pairs.argtypes = [p, i, i, i, i, p, p, p, f, f, p, i, i, p, i, p, p, i, i]
                lib.vsrife_warp_pairs.restype = i
                lib.vsrife_merge.argtypes = [p, i, i, i, p, p, p, p, f, f, p]
                lib.vsrife_merge.restype = i
                _lib, _reason = lib, "loaded"
        except (OSError, subprocess.SubprocessError) as exc:
            _reason = f"build failed: {exc}"
        _tried = True
        return _lib


def source_channels(c: int) -> int | None:
    """The channel stride of a channels_last source of ``c`` channels, or None if the kernels have none."""
    cs = -(-c // 4) * 4
    return cs if cs in _STRIDES else None


_bases: dict[tuple[int, int], tuple[Tensor, Tensor, float, float]] = {}


def _base(h: int, w: int) -> tuple[Tensor, Tensor, float, float]:
    """:class:`~..models.common.Warper`'s normalised base grid (its x row and y column, contiguous) and the
    reciprocals of its flow divisors."""
    hit = _bases.get((h, w))
    if hit is None:
        from ..models.common import Warper

        full, div = Warper._grid(h, w, torch.device("cpu"))
        inv = 1.0 / div
        hit = (full[0, 0, :, 0].contiguous(), full[0, :, 0, 1].contiguous(), float(inv[0]), float(inv[1]))
        if len(_bases) >= 16:
            _bases.clear()
        _bases[(h, w)] = hit
    return hit


def warp_pairs(src: Tensor, c: int, flow: Tensor, k: int, extras: Tensor | None = None,
               scales: Sequence[float] | None = None, consts: Sequence[float] = (),
               dtype: torch.dtype = torch.float32) -> Tensor:
    """Frames 0 and 1 of ``src`` warped by their flows, at 1/k resolution, as a channels_last [1, OS, H/k, W/k].

    ``src``: [2, H, W, CS] contiguous fp32 (channels_last frames, ``c`` channels used). ``flow``: [1, 4, Hs, Ws]
    (pixels; 0->t then 1->t) at every pixel (k = 1) or at the pixels a 1/k bilinear downscale reads (k >= 2,
    :class:`~..models.common.SubGrid`; k = 2: every pixel). Result channels: frame 0's c, frame 1's c, the values
    ``consts``, then the channels of ``extras`` ([1, E, H/k, W/k]) times ``scales`` (default 1); in ``dtype`` (fp32
    or bf16). The warped channels equal ``resize(Warper.warp(...), 1 / k)`` of the same frames within float
    rounding."""
    lib = library()
    assert lib is not None
    _, h, w, cs = src.shape
    assert src.dtype == torch.float32 and src.is_contiguous() and src.shape[0] == 2
    assert flow.dtype == torch.float32 and flow.shape[:2] == (1, 4)
    assert dtype in (torch.float32, torch.bfloat16)
    flow = flow.contiguous()
    ho, wo = h // k, w // k
    if extras is None:
        extras = torch.empty((1, 0, ho, wo))
    assert extras.shape[0] == 1 and extras.shape[-2:] == (ho, wo)
    extras = extras.float().contiguous()
    e = extras.shape[1]
    sc = torch.tensor([1.0] * e if scales is None else list(scales), dtype=torch.float32)
    cv = torch.tensor(list(consts), dtype=torch.float32)
    assert sc.numel() == e
    oc = 2 * c + cv.numel() + e
    out = torch.empty((1, ho, wo, oc), dtype=dtype)
    bx, by, ix, iy = _base(h, w)
    rc = lib.vsrife_warp_pairs(src.data_ptr(), h, w, cs, c, flow.data_ptr(), bx.data_ptr(), by.data_ptr(), ix, iy,
                               out.data_ptr(), oc, k, extras.data_ptr(), e, sc.data_ptr(), cv.data_ptr(),
                               cv.numel(), int(dtype == torch.bfloat16))
    if rc == -2:
        raise MemoryError("native warp: out of memory")
    if rc != 0:
        raise ValueError(f"native warp: unsupported channel stride {cs}, {oc} output channels or width {w}")
    return out.permute(0, 3, 1, 2)


def stack_sources(frames: list[Tensor]) -> Tensor:
    """Frames 0 and 1 as the kernels read them: ``frames`` = [img0, img1] or [img0, img1, feat0, feat1] ([1,C,H,W]
    each) become [2, H, W, CS] channels_last fp32 (image channels, then features; padding channels left as they
    are: the kernels read them but never use them)."""
    half = len(frames) // 2
    c = sum(f.shape[1] for f in frames) // 2
    cs = source_channels(c)
    assert cs is not None
    h, w = frames[0].shape[-2:]
    out = torch.empty((2, h, w, cs), dtype=torch.float32, device=frames[0].device)
    for i in range(2):
        o = 0
        for f in frames[i::2] if half == 2 else frames[i:i + 1]:
            out[i, :, :, o:o + f.shape[1]] = f[0].permute(1, 2, 0)
            o += f.shape[1]
    return out


def merge(src: Tensor, flow: Tensor, mask: Tensor) -> Tensor:
    """The output frame [1, 3, H, W]: frames 0 and 1 of ``src`` (as :func:`warp_pairs`) warped by ``flow``
    [1, 4, H, W] and blended by ``sigmoid(mask)`` [1, 1, H, W]: ``w1 + m * (w0 - w1)``."""
    lib = library()
    assert lib is not None
    _, h, w, cs = src.shape
    flow, mask = flow.float().contiguous(), mask.float().contiguous()
    out = torch.empty((1, 3, h, w), dtype=torch.float32)
    bx, by, ix, iy = _base(h, w)
    rc = lib.vsrife_merge(src.data_ptr(), h, w, cs, flow.data_ptr(), mask.data_ptr(), bx.data_ptr(), by.data_ptr(),
                          ix, iy, out.data_ptr())
    if rc == -2:
        raise MemoryError("native merge: out of memory")
    if rc != 0:
        raise ValueError(f"native merge: frames wider than {MAX_WIDTH} pixels")
    return out
