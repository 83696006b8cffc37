"""Thread safety: frames requested from many Python threads (and with get_frame_async) in random order, with
``core.num_threads = 8``, are bit-identical to a sequential run; nothing deadlocks; a failure inside a frame
request reaches the caller as ``vs.Error`` with a hint.

The engine serialises model execution with one lock (torch already uses every core inside an operation), so the
guarantees are: every output is computed exactly as in a sequential run, the per-source-frame cache stays within
``cache_frames``, and an exception releases the lock.
"""

from __future__ import annotations

import concurrent.futures as cf
import random
import re
import threading
import time

import numpy as np
import pytest
import torch
import vapoursynth as vs

import vsrife
from vsrife import engine as engine_mod

core = vs.core
TIMEOUT = 60  # seconds for any one frame: a deadlock fails the test instead of hanging it


def moving(fmt=vs.YUV420P8, w=96, h=64, n=10, speed=3.0, seed=0) -> vs.VideoNode:
    """A textured pattern moving `speed` px per frame, with some per-frame noise (real motion, distinct frames)."""
    base = core.std.BlankClip(format=fmt, width=w, height=h, length=n, fpsnum=24, fpsden=1)

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        rng = np.random.default_rng(seed * 100003 + n)
        for p in range(out.format.num_planes):
            a = np.asarray(out[p])
            sx = w / a.shape[1]
            yy, xx = np.mgrid[0: a.shape[0], 0: a.shape[1]]
            x = xx * sx - speed * n
            v = 128 + 50 * np.sin(x / 6.0 + p) * np.cos(yy / 5.0) + 20 * np.sin((x + yy) / 11.0)
            v = v + rng.normal(0, 2, a.shape)
            a[:] = np.clip(v, 0, 255).astype(a.dtype)
        return out

    return core.std.ModifyFrame(base, base, fill)


def planes(f: vs.VideoFrame) -> list[np.ndarray]:
    return [np.array(f[p], copy=True) for p in range(f.format.num_planes)]


def message(err: BaseException) -> str:
    """The error's own line. VapourSynth puts the Python traceback of a failed frame callback in front of it."""
    lines = [line for line in str(err).splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return last.removeprefix("vapoursynth.Error: ")


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def vs_threads():
    """Set core.num_threads for the test, restore afterwards."""
    old = core.num_threads

    def set_(n: int) -> None:
        core.num_threads = n

    yield set_
    core.num_threads = old


def sequential(clip: vs.VideoNode) -> list[list[np.ndarray]]:
    return [planes(clip.get_frame(n)) for n in range(clip.num_frames)]


def order(n: int, seed: int, repeats: int = 2) -> list[int]:
    """Every frame `repeats` times, shuffled (so the same frame is often requested by two threads at once)."""
    idx = list(range(n)) * repeats
    random.Random(seed).shuffle(idx)
    return idx


def from_threads(clip: vs.VideoNode, idx: list[int], workers: int = 8) -> dict[int, list[list[np.ndarray]]]:
    got: dict[int, list[list[np.ndarray]]] = {}
    lock = threading.Lock()

    def one(n: int) -> None:
        p = planes(clip.get_frame(n))
        with lock:
            got.setdefault(n, []).append(p)

    with cf.ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(one, n) for n in idx]
        done, pending = cf.wait(futures, timeout=TIMEOUT * 4)
        assert not pending, f"{len(pending)} frame requests did not finish: deadlock?"
        for fut in done:
            fut.result()
    return got


def async_all(clip: vs.VideoNode, idx: list[int]) -> dict[int, list[list[np.ndarray]]]:
    futures = [(n, clip.get_frame_async(n)) for n in idx]
    got: dict[int, list[list[np.ndarray]]] = {}
    for n, fut in futures:
        got.setdefault(n, []).append(planes(fut.result(timeout=TIMEOUT)))
    return got


def assert_identical(got: dict[int, list[list[np.ndarray]]], ref: list[list[np.ndarray]]) -> None:
    assert sorted(got) == list(range(len(ref)))
    for n, outs in got.items():
        for p in outs:
            assert same(p, ref[n]), f"frame {n} differs from the sequential run"


# --------------------------------------------------------------------------------------------------------------------
# Real 4.0 model, small frames


@pytest.mark.timeout(300)
def test_real_model_threads_and_async_are_bit_identical(weights_40, vs_threads):
    src = moving(n=10)
    kw = dict(model="4.0", factor_num=3, sc=False)
    vs_threads(1)
    ref = sequential(vsrife.rife(src, **kw))
    assert len(ref) == 30
    # interpolated frames really differ from their neighbours (the model ran)
    assert not same(ref[1], ref[0]) and not same(ref[1], ref[3])

    vs_threads(8)
    out = vsrife.rife(src, **kw)          # a fresh filter: fresh engine, empty caches
    assert_identical(from_threads(out, order(30, seed=1)), ref)
    out = vsrife.rife(src, **kw)
    assert_identical(async_all(out, order(30, seed=2)), ref)


@pytest.mark.timeout(300)
def test_real_model_small_cache_under_contention(weights_40, vs_threads):
    """cache_frames=2 makes threads evict each other's source frames constantly; results must not change."""
    src = moving(fmt=vs.RGB24, w=64, h=48, n=8, speed=4.0, seed=3)
    kw = dict(model="4.0", factor_num=5, factor_den=2, sc=False)
    vs_threads(1)
    ref = sequential(vsrife.rife(src, **kw))
    vs_threads(8)
    out = vsrife.rife(src, cache_frames=2, **kw)
    assert_identical(from_threads(out, order(len(ref), seed=4, repeats=3)), ref)


# --------------------------------------------------------------------------------------------------------------------
# Fake model, many frames, every mapping


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kw", [
    dict(factor_num=5, factor_den=2),
    dict(factor_num=2, dedup=True),
    dict(fps_num=60000, fps_den=1001),
    dict(factor_num=2, model="fakehd", sc=False),
], ids=["x2.5", "dedup", "fps", "hd-bisect"])
def test_fake_model_many_frames(fake_model, vs_threads, kw):
    src = moving(w=64, h=48, n=120, speed=1.0, seed=5)
    # some duplicates (dedup) and a cut (sc)
    src = src[:20] + src[20] * 3 + src[21:60] + moving(w=64, h=48, n=60, seed=6)
    kw = {"model": "fake", **kw}
    vs_threads(1)
    ref = sequential(vsrife.rife(src, **kw))
    vs_threads(8)
    out = vsrife.rife(src, **kw)
    assert_identical(from_threads(out, order(len(ref), seed=7)), ref)
    out = vsrife.rife(src, **kw)
    assert_identical(async_all(out, order(len(ref), seed=8)), ref)


@pytest.mark.timeout(120)
def test_model_calls_never_overlap_and_cache_stays_bounded(fake_model, vs_threads, monkeypatch, engines):
    inside = 0
    peak = 0
    peak_cache = 0
    guard = threading.Lock()
    real_run = engine_mod.Engine._run

    def run(self, *a, **k):
        nonlocal inside, peak, peak_cache
        with guard:
            inside += 1
            peak = max(peak, inside)
            peak_cache = max(peak_cache, self.cached_sources())
        time.sleep(0.002)   # widen the window in which an overlap would show
        try:
            return real_run(self, *a, **k)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(engine_mod.Engine, "_run", run)
    vs_threads(8)
    out = vsrife.rife(moving(w=32, h=32, n=60, seed=9), model="fake", factor_num=4, sc=False, cache_frames=3)
    from_threads(out, order(out.num_frames, seed=10), workers=12)
    assert len(engines) == 1
    assert peak == 1, "two model calls ran at once"
    assert peak_cache <= 3 and engines[0].cached_sources() <= 3


# --------------------------------------------------------------------------------------------------------------------
# Failures inside a frame request


def _oom(*args, **kwargs):
    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("exc", [
    RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"),
    torch.OutOfMemoryError("Allocation on device failed"),
], ids=["runtime-error-text", "OutOfMemoryError"])
def test_out_of_memory_reaches_caller_with_hint(fake_model, vs_threads, monkeypatch, exc):
    def boom(*a, **k):
        raise exc

    vs_threads(8)
    out = vsrife.rife(moving(w=32, h=32, n=6), model="fake", sc=False)
    monkeypatch.setattr(engine_mod.Engine, "_run", boom)

    with pytest.raises(vs.Error) as info:
        out.get_frame(3)
    assert re.match(r"rife: out of memory while interpolating output frame 3 \(32x32 on cpu\): try scale=0\.5",
                    message(info.value)), str(info.value)
    with pytest.raises(vs.Error) as info:
        out.get_frame_async(5).result(timeout=TIMEOUT)
    assert re.match(r"rife: out of memory while interpolating output frame 5 .*scale=0\.5", message(info.value))
    # from many threads at once: every request fails cleanly, none hangs
    errors: list[str] = []

    def one(n: int) -> None:
        try:
            out.get_frame(n)
        except vs.Error as e:
            errors.append(message(e))

    with cf.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one, n) for n in order(out.num_frames, seed=11)]
        _, pending = cf.wait(futures, timeout=TIMEOUT)
        assert not pending, "deadlock after an exception"
    interpolated = sum(1 for n in order(out.num_frames, seed=11) if n % 2 == 1 and n < out.num_frames - 1)
    assert len(errors) == interpolated and all(e.startswith("rife: out of memory") and "scale=0.5" in e
                                               for e in errors)

    # the lock was released: once the fault is gone, the same clip works
    monkeypatch.undo()
    f = out.get_frame_async(3).result(timeout=TIMEOUT)
    assert f.width == 32


@pytest.mark.timeout(120)
def test_other_exception_reaches_caller_named(fake_model, vs_threads, monkeypatch):
    def boom(*a, **k):
        raise ValueError("weird tensor")

    vs_threads(8)
    out = vsrife.rife(moving(w=32, h=32, n=6), model="fake", sc=False)
    monkeypatch.setattr(engine_mod.Engine, "_run", boom)
    with pytest.raises(vs.Error) as info:
        out.get_frame_async(1).result(timeout=TIMEOUT)
    assert message(info.value) == "rife: interpolating output frame 1 failed: ValueError: weird tensor"
    assert same(planes(out.get_frame(2)), planes(moving(w=32, h=32, n=6).get_frame(1)))  # copies are unaffected


@pytest.mark.timeout(120)
def test_async_callbacks_get_the_error(fake_model, vs_threads, monkeypatch):
    monkeypatch.setattr(engine_mod.Engine, "_run", _oom)
    vs_threads(8)
    out = vsrife.rife(moving(w=32, h=32, n=6), model="fake", sc=False)
    results: dict[int, object] = {}
    done = threading.Event()

    def cb(n):
        def _cb(frame, error):
            results[n] = error if error is not None else frame
            if len(results) == 4:
                done.set()
        return _cb

    for n in (0, 1, 2, 3):
        out.get_frame_async(n, cb(n))
    assert done.wait(TIMEOUT), "callbacks did not all arrive"
    assert isinstance(results[0], vs.VideoFrame) and isinstance(results[2], vs.VideoFrame)
    for n in (1, 3):
        assert isinstance(results[n], vs.Error) and "scale=0.5" in message(results[n])
