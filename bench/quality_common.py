"""Shared constants and video I/O of `make quality`: the samples, YUV frames <-> clips, x264 round trips."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import vapoursynth as vs


REPO = Path(__file__).resolve().parent.parent


if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from samples import ensure_samples  # noqa: E402,F401 - bench/samples.py: one fetcher for bench, tests, make


core = vs.core


W, H = 256, 144                       # output geometry of every synthetic sequence


FPS = Fraction(24)                    # source rate (anime); output is 2x


RATIO = 2


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

