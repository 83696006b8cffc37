"""Native CPU kernels (``warp.c``, ``layout.c``) for the v4 networks' fast path, compiled on first use;
``VSRIFE_NATIVE=0`` turns them off.

The fast path spends much of its CPU time on full-resolution glue: upscaling the blocks' coarse flows and masks to
full resolution and summing them, building sampling grids, warping frames and features (``grid_sample``) and
downscaling the result, each a pass over tens of megabytes. :func:`warp_pairs` does it in one pass per block: it
evaluates the flow from its coarse terms at the pixels it samples, warps both frames (and features), averages the
2x2 samples of the block's downscale and writes the block's first-convolution input channels_last, in its dtype.
:func:`merge` does the same for the output frame (flow and mask from their terms, warp, sigmoid blend).
:func:`pixel_shuffle` lays out and converts the blocks' last layer in one pass.

Built with the system's C compiler (``$CC``, else ``cc`` or ``gcc``) against the OpenMP runtime that torch itself
loaded (``torch/lib/libgomp.so.1``), so the kernels share torch's thread pool; the library is cached under the
user cache directory, keyed by the sources, the compiler, torch's version and the CPU. Where anything is missing
(Windows, macOS, no compiler, an unwritable cache) or ``VSRIFE_NATIVE=0`` is set, :func:`library` returns None and
the networks use torch's own operations: the same results within float rounding (the tests compare both).
``python -m vsrife native`` builds the kernels and says whether they are in use.

This package imports only torch and :mod:`vsrife.paths`: what it needs of the networks (the sampling grid's
coordinates, :data:`Base`) comes in as arguments.
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

from ..paths import native_dir

__all__ = ["ENV", "Base", "library", "merge", "pixel_shuffle", "reason", "source_channels", "stack_sources",
           "warp_pairs"]

#: Environment variable: "0" turns the native kernels off ("1" or unset: on where they can be built).
ENV = "VSRIFE_NATIVE"
_SOURCES = tuple(Path(__file__).with_name(name) for name in ("warp.c", "layout.c"))
_VERSION = 8  # vsrife_native_version() of warp.c
MAX_TERMS = 8  # MAXT in warp.c: terms of a field
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


def _build(cc: str, gomp: Path) -> Path:
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256("\0".join((*(src.read_text() for src in _SOURCES), cc, version, torch.__version__, _cpu_key(),
                                    str(gomp))).encode()).hexdigest()[:16]
    target = native_dir() / f"vsrife_native_{key}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        cmd = [cc, "-O3", "-march=native", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC", *map(str, _SOURCES),
               "-o", tmp, f"-L{gomp.parent}", f"-l:{gomp.name}", f"-Wl,-rpath,{gomp.parent}"]
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
            value = os.environ.get(ENV, "1")
            if value not in ("0", "1"):
                _reason = f"off ({ENV}={value!r}: use 0 or 1)"
            elif value == "0":
                _reason = f"off ({ENV}=0)"
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
                lib.vsrife_warp_pairs.argtypes = [p, i, i, i, i, i, p, p, p, p, p, f, f, p, i, i, p, i, p, i, f, i]
                lib.vsrife_warp_pairs.restype = i
                lib.vsrife_merge.argtypes = [p, i, i, i, i, p, p, p, i, p, p, p, p, p, f, f, p]
                lib.vsrife_merge.restype = i
                lib.vsrife_pixel_shuffle.argtypes = [p, i, i, i, i, p]
                lib.vsrife_pixel_shuffle.restype = i
                _lib, _reason = lib, f"loaded ({lib._name})"
        except (OSError, subprocess.SubprocessError) as exc:
            _reason = f"build failed: {exc}"
        _tried = True
        return _lib


def source_channels(c: int) -> int | None:
    """The channel stride of a channels_last source of ``c`` channels, or None if the kernels have none."""
    cs = -(-c // 4) * 4
    return cs if cs in _STRIDES else None


#: The sampling grid of an H x W frame as the kernels read it: ``grid_sample``'s normalised x coordinate of each
#: column ([W] fp32, contiguous), its y coordinate of each row ([H]), and the reciprocals of the flow divisors in x
#: and y (pixels -> normalised units). The networks provide it (``Warper.native_base`` in ``vsrife.models.common``).
Base = tuple[Tensor, Tensor, float, float]


#: A field: the sum of terms ``resize(c * mul, f)`` (``F.interpolate(scale_factor=f, mode="bilinear",
#: align_corners=False)``; c [1, channels, h, w]), as :class:`~..models.ifnet_v4._Field` keeps them.
Terms = Sequence[tuple[Tensor, float, float]]


def _field(terms: Terms, channels: int, h: int, w: int) -> tuple[list[Tensor], Tensor, Tensor, Tensor]:
    """A field as warp.c reads it: (the coarse maps, kept alive by the caller; their addresses; [h, w] of each;
    [1 / f, mul] of each)."""
    assert 1 <= len(terms) <= MAX_TERMS, f"{len(terms)} terms"
    maps, dims, sc = [], [], []
    for c, f, mul in terms:
        c = c.float().contiguous()
        hc, wc = c.shape[-2:]
        assert c.shape[:2] == (1, channels) and round(hc * f) == h and round(wc * f) == w, (c.shape, f, h, w)
        maps.append(c)
        dims += [hc, wc]
        sc += [1.0 / f, float(mul)]
    ptrs = torch.tensor([m.data_ptr() for m in maps], dtype=torch.int64)
    return maps, ptrs, torch.tensor(dims, dtype=torch.int32), torch.tensor(sc, dtype=torch.float32)


def warp_pairs(src: Tensor, c: int, flow: Terms, k: int, extras: Tensor | None = None, consts: Sequence[float] = (),
               dtype: torch.dtype = torch.float32, flow_scale: float = 0.0, *, base: Base) -> Tensor:
    """Frames 0 and 1 of ``src`` warped by their flows, at 1/k resolution, as a channels_last [1, OS, H/k, W/k].

    ``src``: [2, H, W, CS] contiguous fp32 (channels_last frames, ``c`` channels used). ``flow``: the flow field
    (pixels; 0->t then 1->t) as coarse terms (:data:`Terms`, 4 channels), evaluated by the kernel at the pixels it
    samples: every pixel (k = 1, 2) or those a 1/k bilinear downscale reads (k >= 4,
    :class:`~..models.common.SubGrid`); ``base``: the frames' sampling grid (:data:`Base`). Result channels:
    frame 0's c, frame 1's c, the values ``consts``, the channels of ``extras`` ([1, E, H/k, W/k]), then, unless
    ``flow_scale`` is 0, the flow at 1/k (``resize(flow, 1 / k)``) times ``flow_scale``; in ``dtype`` (fp32 or
    bf16). The warped channels equal ``resize(Warper.warp(...), 1 / k)`` of the same frames within float rounding."""
    lib = library()
    assert lib is not None
    _, h, w, cs = src.shape
    assert src.dtype == torch.float32 and src.is_contiguous() and src.shape[0] == 2
    assert dtype in (torch.float32, torch.bfloat16)
    maps, ptrs, dims, fsc = _field(flow, 4, h, w)
    ho, wo = h // k, w // k
    if extras is None:
        extras = torch.empty((1, 0, ho, wo))
    assert extras.shape[0] == 1 and extras.shape[-2:] == (ho, wo)
    extras = extras.float().contiguous()
    e = extras.shape[1]
    cv = torch.tensor(list(consts), dtype=torch.float32)
    oc = 2 * c + cv.numel() + e + (4 if flow_scale != 0 else 0)
    out = torch.empty((1, ho, wo, oc), dtype=dtype)
    bx, by, ix, iy = _check_base(base, h, w)
    rc = lib.vsrife_warp_pairs(src.data_ptr(), h, w, cs, c, len(maps), ptrs.data_ptr(), dims.data_ptr(),
                               fsc.data_ptr(), bx.data_ptr(), by.data_ptr(), ix, iy, out.data_ptr(), oc, k,
                               extras.data_ptr(), e, cv.data_ptr(), cv.numel(), float(flow_scale),
                               int(dtype == torch.bfloat16))
    if rc == -2:
        raise MemoryError("native warp: out of memory")
    if rc != 0:
        raise ValueError(f"native warp: unsupported channel stride {cs}, {oc} output channels or width {w}")
    return out.permute(0, 3, 1, 2)


def _check_base(base: Base, h: int, w: int) -> Base:
    bx, by, ix, iy = base
    assert bx.shape == (w,) and by.shape == (h,) and bx.dtype == by.dtype == torch.float32, (bx.shape, by.shape)
    assert bx.is_contiguous() and by.is_contiguous()
    return bx, by, float(ix), float(iy)


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


def merge(src: Tensor, flow: Terms, mask: Terms, *, base: Base) -> Tensor:
    """The output frame [1, 3, H, W]: frames 0 and 1 of ``src`` (as :func:`warp_pairs`) warped by the flow field
    (4 channels) and blended by ``sigmoid`` of the mask field (1 channel): ``w1 + m * (w0 - w1)``. Both fields as
    coarse :data:`Terms`, evaluated at every pixel by the kernel; ``base``: the frames' sampling grid
    (:data:`Base`)."""
    lib = library()
    assert lib is not None
    _, h, w, cs = src.shape
    fmaps, fptrs, fdims, fsc = _field(flow, 4, h, w)
    mmaps, mptrs, mdims, msc = _field(mask, 1, h, w)
    out = torch.empty((1, 3, h, w), dtype=torch.float32)
    bx, by, ix, iy = _check_base(base, h, w)
    rc = lib.vsrife_merge(src.data_ptr(), h, w, cs, len(fmaps), fptrs.data_ptr(), fdims.data_ptr(), fsc.data_ptr(),
                          len(mmaps), mptrs.data_ptr(), mdims.data_ptr(), msc.data_ptr(), bx.data_ptr(),
                          by.data_ptr(), ix, iy, out.data_ptr())
    if rc == -2:
        raise MemoryError("native merge: out of memory")
    if rc != 0:
        raise ValueError(f"native merge: frames wider than {MAX_WIDTH} pixels")
    return out


def pixel_shuffle(x: Tensor) -> Tensor | None:
    """``F.pixel_shuffle(x, 2).float()`` as a contiguous NCHW tensor, in one pass, for a channels_last fp32 or bf16
    ``x`` of one sample on the CPU; None where the kernels do not apply (or are not loaded)."""
    lib = library()
    if (lib is None or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.bfloat16) or x.dim() != 4
            or x.shape[0] != 1 or x.shape[1] < 4 or x.shape[1] % 4 or x.is_contiguous()
            or not x.is_contiguous(memory_format=torch.channels_last)):
        return None
    _, c, h, w = x.shape
    out = torch.empty((1, c // 4, 2 * h, 2 * w), dtype=torch.float32)
    rc = lib.vsrife_pixel_shuffle(x.data_ptr(), h, w, c, int(x.dtype == torch.bfloat16), out.data_ptr())
    assert rc == 0
    return out
