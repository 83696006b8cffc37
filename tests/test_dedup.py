"""dedup=True end to end: drawings on twos/threes, holds, cuts, no-duplicate clips, random access, the HD model.

Most tests use the stand-in blend model (``fake_model``: out = (1 - t) * a + t * b, calls recorded) on small
RGBS clips, so every output is predictable to float precision. Two tests run the real 4.0 weights on 256x144 frames
of the sample clip (a few seconds on a CPU).
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
import vapoursynth as vs

import vsrife
from vsrife import timing

core = vs.core

W, H = 64, 48


@pytest.fixture(autouse=True)
def _fp32_default(monkeypatch):
    """These tests hold the glue to exact fp32 blends of the fake model: precision=None means fp32 here even on a CPU
    with native bf16 (where it would mean bf16; tests/test_engine.py tests that rule)."""
    import vsrife.engine

    monkeypatch.setattr(vsrife.engine, "native_bf16", lambda: False)


def drawing(k: float, level: float = 0.5, amp: float = 0.3) -> np.ndarray:
    """A smooth RGB picture; k shifts its phase (a small move: dup metric >> 0.005, cut metric << 0.12)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    v = level + amp * np.sin(xx / 7.0 + 0.35 * k) * np.cos(yy / 5.0 - 0.1 * k)
    return np.stack([v, np.roll(v, 3, axis=1), np.roll(v, 5, axis=0)]).astype(np.float32)


def clip_of(pics: list[np.ndarray], fps: tuple[int, int] = (24, 1)) -> vs.VideoNode:
    blank = core.std.BlankClip(format=vs.RGBS, width=W, height=H, length=len(pics), fpsnum=fps[0], fpsden=fps[1],
                               keep=True)

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(3):
            np.copyto(np.asarray(out[p]), pics[n][p])
        out.props["Src"] = n
        return out

    return core.std.ModifyFrame(blank, blank, fill)


def cadence(runs: list[int], start: int = 0, **kw) -> list[np.ndarray]:
    """Source frames for drawing runs: every frame of run i shows drawing start + i (exact duplicates)."""
    out = []
    for i, r in enumerate(runs):
        out += [drawing(start + i, **kw)] * r
    return out


def planes(f: vs.VideoFrame) -> list[np.ndarray]:
    return [np.array(f[p], copy=True) for p in range(f.format.num_planes)]


def frames_of(clip: vs.VideoNode) -> list[list[np.ndarray]]:
    return [planes(clip.get_frame(n)) for n in range(clip.num_frames)]


def forwards(model) -> list[float]:
    return [t for kind, t in model.calls if kind == "forward"]


def true_window(runs_or_flags, n_src: int, cuts: set[int] = frozenset()) -> timing.DedupWindow:
    """The window dedup_step would see if the metrics were perfect."""
    if isinstance(runs_or_flags[0], bool):
        dup = [False] + list(runs_or_flags)
    else:
        dup = []
        for r in runs_or_flags:
            dup += [False] + [True] * (r - 1)
    assert len(dup) == n_src
    return timing.DedupWindow(0, dup, [i in cuts for i in range(n_src)])


def expected(src: list[np.ndarray], step: timing.Step) -> np.ndarray:
    if step.is_copy:
        return src[step.a]
    t = float(step.t)
    return (1 - t) * src[step.a] + t * src[step.b]


def assert_close(got: list[np.ndarray], want: np.ndarray, what) -> None:
    assert np.abs(np.stack(got) - want).max() <= 2e-5, what


# ---------------------------------------------------------------------------------------------------------------
# timesteps and pictures on twos / threes
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("runs,ts", [
    ([2, 2, 2, 2, 1], [0.25, 0.5, 0.75] * 4),
    ([3, 3, 1], [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6] * 2),
])
def test_on_twos_and_threes_the_motion_is_spread_evenly(fake_model, runs, ts):
    src = cadence(runs)
    out = vsrife.rife(clip_of(src), model="fake", dedup=True)
    assert out.num_frames == 2 * len(src)
    got = frames_of(out)
    assert forwards(fake_model[-1]) == pytest.approx(ts)
    starts = np.cumsum([0] + runs[:-1]).tolist()
    for n, f in enumerate(got):
        tau = n / 2
        i = max(k for k, s in enumerate(starts) if s <= tau)
        if i == len(starts) - 1:                                    # the last drawing holds
            assert_close(f, src[-1], n)
            continue
        s, e = starts[i], starts[i + 1]
        t = (tau - s) / (e - s)
        assert_close(f, (1 - t) * src[s] + t * src[e], n)           # drawing s -> next drawing, time-uniform


def test_plain_on_twos_for_comparison(fake_model):
    """Without dedup the same clip repeats each drawing and then jumps: t = 0.5 between different drawings only."""
    src = cadence([2, 2, 2, 1])
    out = vsrife.rife(clip_of(src), model="fake", dedup=False)
    frames_of(out)
    assert forwards(fake_model[-1]) == [0.5] * 6     # 0-1 (identical), 1-2, 2-3 (identical), 3-4, 4-5, 5-6


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("num,den", [(2, 1), (5, 2), (3, 1)])
def test_glue_does_what_the_timing_map_says(fake_model, seed, num, den):
    """Random cadences (runs 1-7, so some holds): every output equals dedup_step's choice on the true flags."""
    rng = random.Random(seed)
    runs = [rng.choice([1, 2, 2, 3, 3, 5, 7]) for _ in range(8)]
    src = cadence(runs)
    out = vsrife.rife(clip_of(src), model="fake", factor_num=num, factor_den=den, dedup=True)
    ratio = Fraction(num, den)
    win = true_window(runs, len(src))
    assert out.num_frames == timing.output_length(len(src), ratio)
    for n, f in enumerate(frames_of(out)):
        step = timing.dedup_step(n, len(src), ratio, win, vsrife.filter.DEFAULT_DEDUP_MAX_RUN)
        assert_close(f, expected(src, step), (runs, n, step))


def test_duplicates_with_small_noise_are_still_duplicates(fake_model):
    """Codec-like noise below dedup_threshold keeps a frame in its drawing; dedup_threshold=0 needs exact copies."""
    rng = np.random.default_rng(0)
    src = [p + rng.normal(0, 0.0015, p.shape).astype(np.float32) for p in cadence([2, 2, 2, 1])]
    out = vsrife.rife(clip_of(src), model="fake", dedup=True)
    frames_of(out)
    assert forwards(fake_model[-1]) == pytest.approx([0.25, 0.5, 0.75] * 3)
    out0 = vsrife.rife(clip_of(src), model="fake", dedup=True, dedup_threshold=0.0)
    frames_of(out0)
    assert forwards(fake_model[-1]) == [0.5] * 6      # nothing is a duplicate any more: plain mapping


# ---------------------------------------------------------------------------------------------------------------
# holds, cuts
# ---------------------------------------------------------------------------------------------------------------

def test_a_long_hold_holds_and_motion_resumes_from_its_last_frame(fake_model):
    runs = [2, 2, 6, 2, 1]          # frames 4..9 hold one drawing: 6 > dedup_max_run = 4
    src = cadence(runs)
    out = vsrife.rife(clip_of(src), model="fake", dedup=True)
    got = frames_of(out)
    for n in range(8, 19):          # tau 4 .. 9: the held picture itself, bit-identical
        assert all(np.array_equal(a, b) for a, b in zip(got[n], src[4])), n
    assert_close(got[19], 0.5 * src[9] + 0.5 * src[10], 19)     # tau 9.5: from the hold's last frame to the next
    assert_close(got[7], 0.25 * src[2] + 0.75 * src[4], 7)      # tau 3.5: towards the hold's first frame
    # The same run within dedup_max_run is one drawing: the motion spreads over its 6 frames.
    out6 = vsrife.rife(clip_of(src), model="fake", dedup=True, dedup_max_run=6)
    got6 = frames_of(out6)
    assert_close(got6[11], (1 - 1.5 / 6) * src[4] + 1.5 / 6 * src[10], 11)


def two_shots(runs_a: list[int], runs_b: list[int]) -> tuple[list[np.ndarray], int]:
    a = cadence(runs_a, level=0.25, amp=0.1)         # values in [0.15, 0.35]
    b = cadence(runs_b, start=7, level=0.75, amp=0.1)  # values in [0.65, 0.85]: mean difference 0.5 >> 0.12
    return a + b, len(a)


def shot_of(f: list[np.ndarray]) -> str:
    v = np.stack(f)
    if v.max() <= 0.36:
        return "A"
    if v.min() >= 0.64:
        return "B"
    return "mixed"


@pytest.mark.parametrize("runs_a,runs_b", [([2, 2, 2], [2, 2, 1]), ([2, 3], [3, 3, 1]), ([1, 1, 2], [1, 1, 1]),
                                           ([2, 7], [2, 1])])
@pytest.mark.parametrize("num,den", [(2, 1), (5, 2), (4, 1)])
def test_never_blends_across_a_cut(fake_model, runs_a, runs_b, num, den):
    src, cut = two_shots(runs_a, runs_b)
    out = vsrife.rife(clip_of(src), model="fake", factor_num=num, factor_den=den, dedup=True)
    ratio = Fraction(num, den)
    for n, f in enumerate(frames_of(out)):
        tau = Fraction(n) / ratio
        assert shot_of(f) == ("A" if tau < cut else "B"), n
        if cut - 1 <= tau < cut:    # after shot A's last frame: shot A's last frame itself
            assert all(np.array_equal(x, y) for x, y in zip(f, src[cut - 1])), n


def test_cut_marked_by_props_is_honoured_with_dedup(fake_model):
    """A cut given only as _SceneChangeNext (sc_threshold=None) between two similar drawings: no blend over it."""
    src = cadence([2, 2, 2, 2, 1])
    clip = clip_of(src)
    clip = core.std.ModifyFrame(clip, clip, lambda n, f: _mark(f) if n == 3 else f)
    out = vsrife.rife(clip, model="fake", dedup=True, sc_threshold=None)
    got = frames_of(out)
    for n in range(4, 8):           # tau 2 .. 3.5: drawing 2-3 is followed by a cut: hold, never move towards 4
        assert all(np.array_equal(x, y) for x, y in zip(got[n], src[2])), n
    assert_close(got[1], 0.75 * src[0] + 0.25 * src[2], 1)      # before the cut dedup still works


def _mark(f: vs.VideoFrame) -> vs.VideoFrame:
    g = f.copy()
    g.props["_SceneChangeNext"] = 1
    return g


# ---------------------------------------------------------------------------------------------------------------
# no duplicates: dedup changes nothing
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("num,den", [(2, 1), (5, 2)])
def test_no_duplicates_is_bit_identical_to_plain(fake_model, num, den):
    src = [drawing(k * 0.6) for k in range(10)]           # smooth motion, every frame new
    plain = frames_of(vsrife.rife(clip_of(src), model="fake", factor_num=num, factor_den=den))
    dd = frames_of(vsrife.rife(clip_of(src), model="fake", factor_num=num, factor_den=den, dedup=True))
    assert len(plain) == len(dd)
    for n, (a, b) in enumerate(zip(plain, dd)):
        assert all(np.array_equal(x, y) for x, y in zip(a, b)), n


# ---------------------------------------------------------------------------------------------------------------
# length, rate, durations, random access
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fps,num,den", [((24000, 1001), 2, 1), ((24000, 1001), 5, 2), ((25, 1), 3, 1),
                                         ((0, 1), 2, 1)])
def test_length_rate_and_durations_equal_plain(fake_model, fps, num, den):
    clip = clip_of(cadence([2, 3, 1, 2, 6, 1]), fps=fps)
    if fps[0] == 0:
        clip = core.std.SetFrameProps(clip, _DurationNum=1001, _DurationDen=24000)
    plain = vsrife.rife(clip, model="fake", factor_num=num, factor_den=den)
    dd = vsrife.rife(clip, model="fake", factor_num=num, factor_den=den, dedup=True)
    assert dd.num_frames == plain.num_frames and dd.fps == plain.fps
    assert (dd.width, dd.height, dd.format.id) == (plain.width, plain.height, plain.format.id)
    for n in range(dd.num_frames):
        a, b = plain.get_frame(n).props, dd.get_frame(n).props
        assert (a["_DurationNum"], a["_DurationDen"]) == (b["_DurationNum"], b["_DurationDen"]), n


def test_random_order_equals_sequential(fake_model):
    src, _ = two_shots([2, 3, 1, 6], [2, 2, 3, 1])
    clip = clip_of(src)
    seq = frames_of(vsrife.rife(clip, model="fake", factor_num=5, factor_den=2, dedup=True))
    rnd = vsrife.rife(clip, model="fake", factor_num=5, factor_den=2, dedup=True, cache_frames=2)
    order = list(range(rnd.num_frames)) * 2
    random.Random(7).shuffle(order)
    for n in order:
        assert all(np.array_equal(a, b) for a, b in zip(planes(rnd.get_frame(n)), seq[n])), n


# ---------------------------------------------------------------------------------------------------------------
# models that cannot do it
# ---------------------------------------------------------------------------------------------------------------

def test_dedup_with_36_is_an_error(monkeypatch):
    """HD 3.6 makes t = 0.5 only: dedup=True is refused with a message that names a model that can."""
    import vsrife.models as models
    import vsrife.weights as weights

    monkeypatch.setattr(weights, "resolve_weights", lambda model, path, auto: (model, models.create_model(model)
                                                                                  .state_dict()))
    with pytest.raises(vs.Error, match=r"rife: dedup=True .*3\.6.*model='4\.0'"):
        vsrife.rife(clip_of(cadence([2, 2])), model="3.6", dedup=True)


def test_dedup_with_36_is_refused_before_looking_for_weights(monkeypatch, tmp_path):
    """The refusal must not wait for (or send the user to download) 3.6's weights first."""
    monkeypatch.setenv("VSRIFE_MODEL_DIR", str(tmp_path))
    with pytest.raises(vs.Error, match=r"rife: dedup=True"):
        vsrife.rife(clip_of(cadence([2, 2])), model="3.6", dedup=True)


# ---------------------------------------------------------------------------------------------------------------
# the real 4.0 weights on real pictures
# ---------------------------------------------------------------------------------------------------------------

def _real_pan(sample_video, clocks: list[float]) -> list[vs.VideoNode]:
    if not hasattr(core, "bs"):
        pytest.skip("the BestSource plugin is not installed (pip install vapoursynth-bestsource)")
    still = core.bs.VideoSource(str(sample_video))[0]
    still = core.resize.Bicubic(still, format=vs.YUV444PS)
    # A window of 512x288 moving 8 px (4 output px) per unit, resampled to 256x144.
    return [core.resize.Bicubic(still, 256, 144, format=vs.YUV420P8, src_left=300 + 8 * u, src_top=300 + 1.5 * u,
                                src_width=512, src_height=288) for u in clocks]


def _y_psnr(a: vs.VideoFrame, b: vs.VideoFrame) -> float:
    d = np.asarray(a[0]).astype(np.float64) - np.asarray(b[0]).astype(np.float64)
    m = float(np.mean(d * d))
    return 99.0 if m == 0 else 10 * math.log10(255 ** 2 / m)


def test_real_40_on_twos_dedup_beats_plain(weights_40, sample_video):
    n_draw = 4
    src = core.std.Splice([c for k in range(n_draw) for c in _real_pan(sample_video, [2.0 * k] * 2)]
                          + _real_pan(sample_video, [2.0 * n_draw]))
    truth = _real_pan(sample_video, [n / 2 for n in range(2 * src.num_frames)])
    truth = [t for t in truth[: 4 * n_draw]] + [truth[4 * n_draw]] * (2 * src.num_frames - 4 * n_draw)
    res = {}
    for dedup in (False, True):
        out = vsrife.rife(src, model="4.0", dedup=dedup, device="cpu")
        mses = []
        for n in range(out.num_frames):
            p = _y_psnr(out.get_frame(n), truth[n].get_frame(0))
            mses.append(255 ** 2 / 10 ** (p / 10))
        res[dedup] = 10 * math.log10(255 ** 2 / max(np.mean(mses), 1e-9))
    assert res[True] - res[False] >= 3.0, res


def test_real_40_without_duplicates_is_bit_identical(weights_40, sample_video):
    if not hasattr(core, "bs"):
        pytest.skip("the BestSource plugin is not installed (pip install vapoursynth-bestsource)")
    src = core.resize.Bicubic(core.bs.VideoSource(str(sample_video))[10:16], 256, 144)   # real motion, no repeats
    plain = vsrife.rife(src, model="4.0", device="cpu")
    dd = vsrife.rife(src, model="4.0", dedup=True, device="cpu")
    for n in range(plain.num_frames):
        assert all(np.array_equal(a, b) for a, b in zip(planes(plain.get_frame(n)), planes(dd.get_frame(n)))), n


def test_anime_example_script_runs(weights_40, sample_video, tmp_path):
    """examples/anime.vpy renders through vspipe (a few frames, downscaled)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    if not hasattr(core, "bs"):
        pytest.skip("the BestSource plugin is not installed (pip install vapoursynth-bestsource)")
    repo = Path(__file__).resolve().parent.parent
    vspipe = Path(sys.executable).parent / "vspipe"
    env = dict(os.environ, VSRIFE_ANIME_WIDTH="128", VSRIFE_ANIME_SOURCE=str(sample_video))
    out = tmp_path / "out.y4m"
    r = subprocess.run([str(vspipe), "-c", "y4m", "-e", "5", str(repo / "examples" / "anime.vpy"), str(out)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    data = out.read_bytes()
    header = data.split(b"\n", 1)[0].split()
    assert header[0] == b"YUV4MPEG2" and b"W128" in header and b"H72" in header and b"F50:1" in header, header
    assert data.count(b"FRAME") == 6
