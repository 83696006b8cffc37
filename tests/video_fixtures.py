"""Helpers for the `vsrife video` tests: tiny real clips cut from the bigbuckbunny sample, ffprobe/framemd5 views."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def small_clip(sample: Path, dest: Path, *, seconds: float = 1.2, crop: str = "320:180:400:200",
               audio: bool = True) -> Path:
    """160x90 crop of the sample, x264, with its AAC audio (25 fps: 30 frames in 1.2 s)."""
    ffmpeg("-i", str(sample), "-t", f"{seconds}", "-vf", f"crop={crop},scale=160:90", "-c:v", "libx264",
           "-preset", "ultrafast", *(["-c:a", "copy"] if audio else ["-an"]), str(dest))
    return dest


def cut_clip(sample: Path, dest: Path) -> Path:
    """Two shots (18 frames of one crop, 12 of a far-away one): a hard cut before source frame 18, no audio."""
    ffmpeg("-i", str(sample), "-filter_complex",
           "[0:v]split[a][b];[a]trim=end_frame=18,crop=320:180:400:200,scale=160:90[x];"
           "[b]trim=start_frame=60:end_frame=72,setpts=PTS-STARTPTS,crop=320:180:0:500,scale=160:90,"
           "hflip,negate[y];[x][y]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
           str(dest))
    return dest


def vsrife(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m vsrife ARGS`` in a subprocess (the real CLI)."""
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([sys.executable, "-m", "vsrife", *args], capture_output=True, text=True, env=e, cwd=REPO)
    if check and r.returncode != 0:
        raise AssertionError(f"vsrife {' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


def probe(path: Path) -> dict:
    """ffprobe's streams (with counted frames), format and chapters."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                          "-show_chapters", "-of", "json", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def video_stream(info: dict) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def rate(s: dict) -> Fraction:
    return Fraction(s["r_frame_rate"])


def frame_hashes(path: Path, pix_fmt: str | None = None) -> list[str]:
    """md5 of every decoded video frame (optionally converted to ``pix_fmt``)."""
    args = ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0"]
    if pix_fmt:
        args += ["-pix_fmt", pix_fmt]
    out = subprocess.run(args + ["-f", "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    return [ln.rsplit(",", 1)[1].strip() for ln in out.splitlines() if ln and not ln.startswith("#")]


def frame_times(path: Path) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    return [float(t.split(",")[0]) for t in out.split()]
