"""The synthetic scenes of `make quality`: stills, cameras, shots with cadences, the sequences."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import vapoursynth as vs

from quality_common import CLOCK_SEARCH, H, RATIO, W, clip_from_planes, core, planes_of, x264_roundtrip


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


# Camera angles (still, centre x, centre y, window width) whose every ordered pair is a cut in the cut study.
CUT_ANGLES = [("bbb0", 420, 380, 512), ("bbb0", 700, 520, 512), ("bbb0", 300, 250, 400), ("bbb60", 380, 360, 512),
              ("bbb60", 640, 360, 560), ("bbb60", 900, 420, 512), ("bbb120", 860, 300, 640),
              ("bbb120", 720, 380, 640), ("bbb120", 400, 450, 512), ("bbb120", 1000, 500, 400),
              ("car0", 176, 144, 256), ("car60", 176, 144, 300),
              # cut-ins: a tighter framing of an angle above (the same subject, closer)
              ("bbb0", 420, 380, 300), ("bbb60", 640, 360, 320), ("bbb120", 860, 300, 400), ("car0", 176, 130, 180)]
