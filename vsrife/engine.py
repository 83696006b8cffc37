"""Device, precision, threads, padding and the per-source-frame cache around a RIFE model.

The engine turns two source frames (as plane arrays plus props) and a timestep into output planes. Work that
depends on one source frame only — colour conversion, padding, and the encoder features of v4.7+ models — is done
once per source frame and kept in a small LRU cache, so every output frame that needs that frame (several
timesteps, both neighbouring pairs) reuses it. All model execution is serialised by one lock: torch already uses
every core inside an operation, and two frames each running several threads on the same cores collapse.

The cache holds ``cache_frames`` entries (default 4: sequential output, previewing and ``vspipe`` with a few
threads need 2-3). An evicted entry's memory is reused for the next one, and on the CPU that memory is mapped by
itself, outside malloc's heap (:func:`_cache_zeros`). Measured with ``vspipe`` (bigbuckbunny 720p doubled, 60 output
frames, 3 interleaved pairs) against 6 entries made in the heap, together with ``M_ARENA_MAX``
(:mod:`vsrife.allocator`): peak RSS 4.0 fp32 1295-1438 -> 1045-1138 MB, 4.6 fp32 1157-1262 -> 1099-1122 MB,
4.26 bf16 1314-1376 -> 1154-1160 MB.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import torch

from . import allocator, openmp
from .color import PlaneFormat, planes_to_rgb, rgb_to_planes
from .cpu import native_bf16
from .models import winograd as wg

if TYPE_CHECKING:
    from .compat import TrtOptions

PRECISIONS = ("fp32", "fp16", "bf16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: Default number of source frames whose converted tensors / features are kept (per filter instance).
DEFAULT_CACHE_FRAMES = 4
#: HD v3.6 makes t = 0.5 only; other dyadic times are made by repeated halving up to this depth.
MAX_BISECT_DEPTH = 6


class EngineError(ValueError):
    """A device/precision request that cannot be honoured."""


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``: CUDA when available, else CPU. Strings like ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``."""
    if device is None:
        return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise EngineError(f"device must be 'cpu', 'cuda', 'cuda:N' or another torch device, not {device!r}") from e
    if dev.type == "meta":
        raise EngineError(f"device must be 'cpu', 'cuda', 'cuda:N' or another device that computes, not "
                          f"{str(device)!r} (meta tensors hold no data)")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise EngineError(f"device={str(device)!r} but CUDA is not available (torch {torch.__version__}); use 'cpu'")
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        if idx >= torch.cuda.device_count():
            raise EngineError(f"device={str(device)!r} but only {torch.cuda.device_count()} CUDA device(s) exist")
        return torch.device("cuda", idx)
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise EngineError(f"device={str(device)!r} but MPS is not available")
    if dev.type == "xpu" and not (hasattr(torch, "xpu") and torch.xpu.is_available()):
        raise EngineError(f"device={str(device)!r} but XPU is not available")
    return dev


def resolve_precision(precision: str | None, device: torch.device, half_input: bool) -> torch.dtype:
    """``None``: on the CPU bf16 where it runs in hardware (:func:`vsrife.cpu.native_bf16`: measured within 0.01 dB
    of fp32 on real frames and ~1.5x as fast, docs/performance.md), else fp32; on a GPU fp16 for RGBH input, else
    fp32. ``"fp16"`` is refused on the CPU (use ``"bf16"``)."""
    if precision is None:
        if device.type == "cpu":
            return torch.bfloat16 if native_bf16() else torch.float32
        return torch.float16 if half_input else torch.float32
    if precision not in _DTYPES:
        raise EngineError(f"precision must be one of {list(PRECISIONS)} or None, not {precision!r}")
    if precision == "fp16" and device.type == "cpu":
        raise EngineError("precision='fp16' is not supported on the CPU (it is ~50x slower there); "
                          "use precision='bf16' or 'fp32'")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise EngineError("precision='bf16' is not supported by this GPU; use 'fp16' or 'fp32'")
    return _DTYPES[precision]


@dataclass
class _Source:
    img: torch.Tensor               # [1, 3, PH, PW] padded, model dtype, on device
    feat: torch.Tensor | None       # encoder features (v4.7+), or None


def _cache_zeros(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device,
                 stride: tuple[int, ...] | None = None) -> torch.Tensor:
    """Zeroed memory for a long-lived cache entry (``stride``: a dense layout, default contiguous).

    On the CPU it is mapped on its own (:func:`allocator.mapped`), outside malloc's heap. The heap then holds only the
    networks' temporaries, whose pattern repeats from one forward to the next, instead of fragmenting around cache
    entries that are made and evicted at other times (measured: see :mod:`vsrife.allocator`).
    """
    if device.type != "cpu":
        return torch.zeros(shape, dtype=dtype, device=device) if stride is None else \
            torch.empty_strided(shape, stride, dtype=dtype, device=device).zero_()
    n = math.prod(shape)
    flat = torch.frombuffer(allocator.mapped(n * torch.empty((), dtype=dtype).element_size()), dtype=dtype, count=n)
    return flat.view(shape) if stride is None else flat.as_strided(shape, stride)


def _make_room(cache: OrderedDict, size: int):
    """Evict the oldest entries of an LRU ``cache`` until one more fits in ``size``; returns the last one evicted (its
    memory takes the new entry), or None."""
    spare = None
    while len(cache) >= size:
        spare = cache.popitem(last=False)[1]
    return spare


def _keep(t: torch.Tensor, spare: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """``t`` in ``dtype`` as a cache entry: converted straight into ``spare`` (an evicted entry of the same layout) or,
    on the CPU, into new :func:`_cache_zeros` memory; on other devices ``t.to(dtype)`` (their allocators cache blocks
    already)."""
    if spare is not None and spare.shape == t.shape and spare.dtype == dtype and spare.stride() == t.stride():
        return spare.copy_(t)
    if t.device.type != "cpu":
        return t.to(dtype)
    if not (t.is_contiguous() or t.is_contiguous(memory_format=torch.channels_last)):
        t = t.contiguous()
    return _cache_zeros(tuple(t.shape), dtype, t.device, tuple(t.stride())).copy_(t)


class Engine:
    """Runs one RIFE model for one clip geometry. Thread-safe."""

    def __init__(self, model: torch.nn.Module, *, fmt: PlaneFormat, width: int, height: int,
                 device: torch.device, dtype: torch.dtype, scale: float = 1.0, ensemble: bool = False,
                 cache_frames: int = DEFAULT_CACHE_FRAMES, channels_last: bool | None = None,
                 winograd: bool | None = None, trt: TrtOptions | None = None) -> None:
        """``channels_last``: convolutions in channels_last (``None``: on the CPU). ``winograd``: the networks' body
        convolutions by NNPACK's Winograd where they pay (``None``: in fp32 on the CPU when this PyTorch has NNPACK
        and OpenMP's spin-wait is short, see :mod:`vsrife.openmp`). On the CPU the whole process's malloc keeps
        large blocks for reuse from the first engine on (:mod:`vsrife.allocator`; ``VSRIFE_MALLOC_TUNING=0``: left
        alone)."""
        self.trt = trt
        if trt is not None:  # vsrife.trt compiles the exact path (no beta folding, no CPU fast path)
            model.fast = False
        self.spec = model.spec
        self.fmt = fmt
        self.width, self.height = width, height
        self.device, self.dtype = device, dtype
        self.scale, self.ensemble = scale, ensemble
        m = self.spec.pad_multiple(scale)
        self.pad_w = -(-width // m) * m
        self.pad_h = -(-height // m) * m
        if channels_last is None:
            channels_last = device.type == "cpu"
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if device.type == "cpu":
            allocator.configure()
        if getattr(model, "fast", False) and hasattr(model, "fold_for_inference"):
            model.fold_for_inference()  # in the weights' own precision, before any conversion
        self.model = model.to(device=device, dtype=dtype, memory_format=self.memory_format).eval()
        if winograd is None:
            winograd = device.type == "cpu" and dtype == torch.float32 and wg.available() and openmp.short_spin()
        self.winograd = bool(winograd)
        if hasattr(self.model, "winograd"):
            self.model.winograd = self.winograd
        if trt is not None:  # the network is replaced by its TensorRT engines (NVIDIA GPUs with torch_tensorrt)
            from . import trt as _trt

            try:
                self.model = _trt.wrap(self.model, trt, width=width, height=height, device=device, dtype=dtype,
                                       scale=scale, ensemble=ensemble)
            except _trt.TrtError as e:
                raise EngineError(str(e)) from None
        self.cache_frames = max(2, int(cache_frames))
        self._sources: OrderedDict[int, _Source] = OrderedDict()
        self._mids: OrderedDict[tuple[int, int, Fraction], torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    # -- per-source-frame work -----------------------------------------------------------------------------
    @property
    def _glue_dtype(self) -> torch.dtype:
        """The dtype the network wants full-resolution frames and features in (``RifeModel.glue_dtype``; any other
        module: the engine's dtype)."""
        return getattr(self.model, "glue_dtype", self.dtype)

    def _prepare(self, planes: Sequence[np.ndarray], props: Mapping, spare: torch.Tensor | None) -> torch.Tensor:
        """The padded frame, written into ``spare`` (an evicted cache entry) when there is one."""
        rgb = planes_to_rgb(list(planes), self.fmt, props, self.device, torch.float32)
        # Full-resolution tensors stay NCHW (cat/resize/grid_sample are fastest there) and in the dtype the network
        # wants them in (the v4 fast path: fp32 at any precision); the networks switch to channels_last inside
        # their blocks when their weights are (see models.ifnet_v4). The padding is zero and never written again:
        # the networks do not write into their inputs.
        shape = (1, 3, self.pad_h, self.pad_w)
        if spare is None or tuple(spare.shape) != shape or spare.dtype != self._glue_dtype:
            spare = _cache_zeros(shape, self._glue_dtype, self.device)
        spare[:, :, : self.height, : self.width].copy_(rgb)
        return spare

    def _source(self, index: int, planes: Sequence[np.ndarray], props: Mapping) -> _Source:
        src = self._sources.get(index)
        if src is not None:
            self._sources.move_to_end(index)
            return src
        spare = _make_room(self._sources, self.cache_frames)
        img = self._prepare(planes, props, spare.img if spare else None)
        feat = None
        if self.spec.has_encoder:
            # once per source frame, not per output frame
            feat = _keep(self.model.encode(img), spare.feat if spare else None, self._glue_dtype)
        src = _Source(img, feat)
        self._sources[index] = src
        return src

    def cached_sources(self) -> int:
        """Number of source frames currently cached (bounded by ``cache_frames``)."""
        return len(self._sources)

    # -- interpolation ----------------------------------------------------------------------------------------
    def _run(self, img0: torch.Tensor, img1: torch.Tensor, t: Fraction, f0, f1) -> torch.Tensor:
        return self.model(img0, img1, float(t), f0, f1, scale=self.scale, ensemble=self.ensemble)

    def _bisect(self, key: tuple[int, int], img0: torch.Tensor, img1: torch.Tensor, t: Fraction,
                lo: Fraction = Fraction(0), hi: Fraction = Fraction(1), depth: int = 0) -> torch.Tensor:
        """t = 0.5-only models: halve [lo, hi] towards t, caching the midpoints (shared by 4x, 8x ... outputs)."""
        if depth > MAX_BISECT_DEPTH:
            raise EngineError(f"timestep {t} needs more than {MAX_BISECT_DEPTH} halvings")
        mid_t = (lo + hi) / 2
        mkey = (key[0], key[1], mid_t)
        mid = self._mids.get(mkey)
        if mid is not None:
            self._mids.move_to_end(mkey)  # least recently used first out: 1/2 stays while its halves are made
        else:
            spare = _make_room(self._mids, self.cache_frames)
            if spare is img0 or spare is img1:  # an evicted bound of this interval is still read below
                spare = None
            mid = self._run(img0, img1, Fraction(1, 2), None, None)
            mid = self._mids[mkey] = _keep(mid, spare, mid.dtype)
        if t == mid_t:
            return mid
        if t < mid_t:
            return self._bisect(key, img0, mid, t, lo, mid_t, depth + 1)
        return self._bisect(key, mid, img1, t, mid_t, hi, depth + 1)

    def interpolate(self, a: int, planes_a: Sequence[np.ndarray], props_a: Mapping,
                    b: int, planes_b: Sequence[np.ndarray], props_b: Mapping, t: Fraction) -> list[np.ndarray]:
        """Output planes (source format, props of ``a`` for the conversion back) at time ``t`` from ``a`` to ``b``.

        ``a``/``b`` key the cache of converted source frames: a source index, or any other hashable for frames that
        are not the plain source (vsrife.fade uses ``("fade", index, reference index)`` for normalised frames).

        Runs on the engine's own thread (see :meth:`_worker`); the caller waits for it.
        """
        return self._worker().submit(self._interpolate, a, planes_a, props_a, b, planes_b, props_b, t).result()

    def _worker(self) -> ThreadPoolExecutor:
        """One long-lived thread that does all of this engine's torch work.

        Calls are serialised anyway (torch already uses every core inside an operation). Doing them all on one
        thread keeps every large tensor in one malloc arena: when VapourSynth's worker threads ran the model
        themselves, each allocated in its own arena and peak RSS was ~20 % higher (measured: 4.6 at 720p, 1.34 GB
        -> 1.10 GB, same speed).
        """
        ex = self._executor
        if ex is None:
            with self._executor_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="vsrife-engine")
                ex = self._executor
        return ex

    @torch.inference_mode()
    def _interpolate(self, a: int, planes_a: Sequence[np.ndarray], props_a: Mapping,
                     b: int, planes_b: Sequence[np.ndarray], props_b: Mapping, t: Fraction) -> list[np.ndarray]:
        with self._lock:
            s0 = self._source(a, planes_a, props_a)
            s1 = self._source(b, planes_b, props_b)
            if self.spec.arbitrary_timestep:
                out = self._run(s0.img, s1.img, t, s0.feat, s1.feat)
            else:
                out = self._bisect((a, b), s0.img, s1.img, t)
            out = out[:, :, : self.height, : self.width].float().clamp_(0.0, 1.0)
            return rgb_to_planes(out, self.fmt, props_a)
