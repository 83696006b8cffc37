"""What ``vsrife video`` needs to know about an input file, read with ffprobe.

``probe(path) -> MediaInfo``: the first video stream (size, exact rates, start time, colour tags, whether its
timestamps are variable), every other stream (type, codec, index), the container's start time and chapter count.
Raises :class:`ProbeError` with a one-line message for a missing or unreadable file, a file with no video stream,
or a missing ffprobe. Imports neither VapourSynth nor torch.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

__all__ = ["ProbeError", "StreamInfo", "MediaInfo", "probe", "parse_rate", "tool"]


class ProbeError(ValueError):
    """The input cannot be used (message is one line, meant for the user)."""


@dataclass(frozen=True)
class StreamInfo:
    """One stream of the input: its index in the file, type (video/audio/subtitle/attachment/data) and codec."""

    index: int
    codec_type: str
    codec_name: str
    attached_pic: bool = False


@dataclass(frozen=True)
class MediaInfo:
    """The input as ffprobe sees it (``video`` fields describe the first video stream that is not cover art)."""

    path: Path
    width: int
    height: int
    rate: Fraction               # the stream's base rate (r_frame_rate): the rate VFR input is made constant at
    avg_rate: Fraction           # frames / duration
    vfr: bool                    # frame timestamps are not evenly spaced
    video_start: float           # seconds, the video stream's first timestamp
    format_start: float          # seconds, the container's start (ffmpeg shifts inputs by it)
    duration: float              # seconds (container)
    pix_fmt: str
    color_space: str | None      # ffprobe names (bt709, smpte170m, ...), None when unknown
    color_range: str | None      # tv / pc
    color_primaries: str | None
    color_transfer: str | None
    video_index: int
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)
    chapters: int = 0

    def others(self, codec_type: str) -> list[StreamInfo]:
        """The streams of one type other than the video stream we interpolate (cover art excluded)."""
        return [s for s in self.streams if s.codec_type == codec_type and s.index != self.video_index
                and not s.attached_pic]


def tool(name: str) -> str:
    """The path of ``ffmpeg``/``ffprobe``; raises :class:`ProbeError` saying how to get it when it is missing."""
    found = shutil.which(name)
    if not found:
        raise ProbeError(f"{name} not found on PATH: install ffmpeg (e.g. `apt-get install ffmpeg`, "
                         f"or `make ffmpeg`)")
    return found


def parse_rate(text: str) -> Fraction:
    """``"30000/1001"`` -> Fraction; ``"0/0"`` and junk -> 0."""
    try:
        num, _, den = text.partition("/")
        return Fraction(int(num), int(den or 1)) if int(den or 1) else Fraction(0)
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


def _tag(value: object) -> str | None:
    return None if value in (None, "", "unknown", "unspecified", "reserved") else str(value)


def _float(value: object, default: float = 0.0) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _is_vfr(ffprobe: str, path: Path, index: int, rate: Fraction) -> bool:
    """Whether the stream's presentation timestamps deviate from an even spacing at ``rate`` (demux only)."""
    r = subprocess.run([ffprobe, "-v", "error", "-select_streams", str(index), "-show_entries", "packet=pts_time",
                        "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    times = sorted(float(t) for t in r.stdout.split() if t.replace(".", "", 1).lstrip("-").isdigit())
    if len(times) < 3 or rate <= 0:
        return False
    step = 1 / float(rate)
    # Even spacing: every gap is one frame period (within a millisecond, the coarsest common timebase).
    return any(abs((b - a) - step) > 1e-3 + step * 0.01 for a, b in zip(times, times[1:]))


def probe(path: str | Path) -> MediaInfo:
    """Probe ``path``; see the module docstring."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ProbeError(f"input not found: {p}")
    if not p.is_file():
        raise ProbeError(f"input is not a file: {p}")
    try:
        with open(p, "rb") as f:
            f.read(1)
    except OSError as e:
        raise ProbeError(f"cannot read {p}: {e.strerror or e}") from None
    ffprobe = tool("ffprobe")
    r = subprocess.run([ffprobe, "-v", "error", "-show_streams", "-show_format", "-show_chapters", "-of", "json",
                        str(p)], capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["ffprobe failed"])[-1]
        raise ProbeError(f"cannot read {p} as a video: {last}")
    data = json.loads(r.stdout or "{}")
    streams = tuple(StreamInfo(int(s.get("index", i)), str(s.get("codec_type", "")), str(s.get("codec_name", "")),
                               bool(s.get("disposition", {}).get("attached_pic", 0)))
                    for i, s in enumerate(data.get("streams", [])))
    raw = {int(s.get("index", i)): s for i, s in enumerate(data.get("streams", []))}
    video = next((s for s in streams if s.codec_type == "video" and not s.attached_pic), None)
    if video is None:
        raise ProbeError(f"{p} has no video stream")
    v = raw[video.index]
    rate = parse_rate(v.get("r_frame_rate", "0/0"))
    avg = parse_rate(v.get("avg_frame_rate", "0/0"))
    if rate <= 0:
        rate = avg
    if rate <= 0:
        raise ProbeError(f"{p}: the video stream has no frame rate")
    fmt = data.get("format", {})
    return MediaInfo(
        path=p.resolve(), width=int(v.get("width", 0)), height=int(v.get("height", 0)), rate=rate, avg_rate=avg,
        vfr=_is_vfr(ffprobe, p, video.index, rate), video_start=_float(v.get("start_time")),
        format_start=_float(fmt.get("start_time")), duration=_float(fmt.get("duration")),
        pix_fmt=str(v.get("pix_fmt", "")), color_space=_tag(v.get("color_space")),
        color_range=_tag(v.get("color_range")), color_primaries=_tag(v.get("color_primaries")),
        color_transfer=_tag(v.get("color_transfer")), video_index=video.index, streams=streams,
        chapters=len(data.get("chapters", [])),
    )
