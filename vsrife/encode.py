"""ffmpeg command lines for ``vsrife video``: the encoder, the pipe input, and muxing the source's other streams.

Inputs: the encoder flags (:class:`EncodeOptions`), the probed source (:class:`~vsrife.probe.MediaInfo`), the
script's output (:class:`~vsrife.vspipe.ClipInfo`). Outputs: argument lists (no process is started here).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from fractions import Fraction

from .probe import MediaInfo
from .vspipe import ClipInfo, pix_fmt

__all__ = ["CODECS", "EncodeOptions", "EncodeError", "encoder_name", "video_args", "pipe_input_args",
           "streams_plan", "StreamsPlan", "default_ext"]

#: Short names -> ffmpeg encoders. Any other ffmpeg encoder name is passed through as given.
CODECS = {"x264": "libx264", "h264": "libx264", "x265": "libx265", "hevc": "libx265", "ffv1": "ffv1",
          "vp9": "libvpx-vp9", "av1": "libsvtav1", "prores": "prores_ks", "png": "png"}
_CRF = {"libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1"}
_PRESET = {"libx264", "libx265", "libsvtav1"}
_TEXT_SUBS = {"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"}
_MP4 = {"mp4", "m4v", "mov"}


class EncodeError(ValueError):
    """An encoder option or output container that cannot work (one line for the user)."""


@dataclass(frozen=True)
class EncodeOptions:
    """``--codec``, ``--crf``, ``--preset``, encoder threads and ``--ffmpeg-args`` (already split)."""

    codec: str = "x264"
    crf: float | None = None
    preset: str | None = None
    threads: int | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)


def encoder_name(codec: str) -> str:
    return CODECS.get(codec, codec)


def default_ext(codec: str) -> str:
    """The reference script's mp4, except for codecs mp4 cannot hold (ffv1: mkv)."""
    return "mkv" if encoder_name(codec) in ("ffv1",) else "mp4"


def video_args(enc: EncodeOptions, info: MediaInfo, clip: ClipInfo) -> list[str]:
    """``-c:v ...`` with quality, preset, threads, the source's colour tags, then ``--ffmpeg-args``."""
    name = encoder_name(enc.codec)
    args = ["-c:v", name]
    if name in _CRF:
        crf = 18 if enc.crf is None else enc.crf
        args += ["-crf", f"{crf:g}"]
        if name == "libvpx-vp9":
            args += ["-b:v", "0"]
    elif enc.crf is not None:
        raise EncodeError(f"--crf: {enc.codec} has no CRF mode (x264, x265, vp9, av1 have); "
                          "use --ffmpeg-args for its own quality options")
    if enc.preset is not None:
        if name not in _PRESET:
            raise EncodeError(f"--preset: {enc.codec} has no presets (x264, x265, av1 have)")
        args += ["-preset", enc.preset]
    if name == "ffv1":
        args += ["-level", "3"]
    if enc.threads is not None:
        args += ["-threads", str(enc.threads)]
        if name == "libx265":
            args += ["-x265-params", f"pools={enc.threads}:log-level=error"]
    elif name == "libx265":
        args += ["-x265-params", "log-level=error"]
    if clip.color_family != "RGB":
        for opt, value in (("-colorspace", info.color_space), ("-color_primaries", info.color_primaries),
                           ("-color_trc", info.color_transfer), ("-color_range", info.color_range)):
            if value:
                args += [opt, value]
    return args + list(enc.extra)


def pipe_input_args(clip: ClipInfo, offset: float = 0.0) -> list[str]:
    """How ffmpeg reads ``vspipe`` from stdin: y4m for YUV/GRAY, raw G,B,R planes for RGB (y4m has no RGB)."""
    pre = ["-itsoffset", f"{offset:.6f}"] if offset > 0 else []
    if clip.color_family == "RGB":
        return pre + ["-f", "rawvideo", "-pix_fmt", pix_fmt(clip), "-s", f"{clip.width}x{clip.height}",
                      "-framerate", f"{clip.fps.numerator}/{clip.fps.denominator}", "-i", "-"]
    return pre + ["-f", "yuv4mpegpipe", "-i", "-"]


def vspipe_args(clip_color_family: str) -> list[str]:
    """vspipe's container flag for the same choice."""
    return [] if clip_color_family == "RGB" else ["-c", "y4m"]


@dataclass(frozen=True)
class StreamsPlan:
    """The second ffmpeg input (the source, seeked to the range) and what is mapped from it."""

    input_args: list[str]
    map_args: list[str]
    notes: list[str]      # what changed or could not be kept, said to the user
    offset: float         # -itsoffset for the interpolated video (the source video's own start)


def streams_plan(info: MediaInfo, ext: str, start: int, end: int | None, rate: Fraction) -> StreamsPlan:
    """Keep every audio and subtitle stream, attachments (mkv), chapters and metadata of the source.

    ``start``/``end``: the source frame range (end exclusive, None: to the end) at ``rate``; the other streams are
    cut to the same times. Raises :class:`EncodeError` for streams the container cannot hold (bitmap subtitles in
    mp4).
    """
    ext = ext.lower()
    notes: list[str] = []
    video_rel = max(0.0, info.video_start - info.format_start)
    inp: list[str] = []
    offset = video_rel
    if start or end is not None:
        t0 = video_rel + float(Fraction(start) / rate)
        inp += ["-ss", f"{t0:.6f}"]
        if end is not None:
            inp += ["-t", f"{float(Fraction(end - start) / rate):.6f}"]
        offset = 0.0
    inp += ["-i", str(info.path)]
    maps = ["-map", "0:v:0"]
    for s in info.others("audio"):
        maps += ["-map", f"1:{s.index}"]
    subs = info.others("subtitle")
    for s in subs:
        maps += ["-map", f"1:{s.index}"]
    attachments = info.others("attachment")
    if attachments and ext in ("mkv", "mka", "webm"):
        for s in attachments:
            maps += ["-map", f"1:{s.index}"]
    elif attachments:
        notes.append(f"{len(attachments)} attachment(s) (fonts) not kept: only mkv holds them (--ext mkv)")
    data = info.others("data")
    if data:
        notes.append(f"{len(data)} data stream(s) ({', '.join(s.codec_name for s in data)}) not kept")
    # Stream metadata (language, title...) by hand for every stream: one -map_metadata:s turns off ffmpeg's own.
    sources = [info.video_index] + [int(m.split(":")[1]) for m in maps[3::2]]
    maps += ["-map_metadata", "1", "-map_chapters", "1"]
    for out_i, in_i in enumerate(sources):
        maps += [f"-map_metadata:s:{out_i}", f"1:s:{in_i}"]
    maps += ["-c:a", "copy", "-c:t", "copy"]
    if subs and ext in _MP4:
        bitmap = [s for s in subs if s.codec_name not in _TEXT_SUBS]
        if bitmap:
            raise EncodeError(f"--ext {ext}: cannot hold the {bitmap[0].codec_name} subtitles of the input "
                              "(bitmap subtitles); use --ext mkv")
        if any(s.codec_name != "mov_text" for s in subs):
            notes.append(f"{len(subs)} text subtitle stream(s) converted to mov_text (mp4's subtitle format)")
        maps += ["-c:s", "mov_text"]
    else:
        maps += ["-c:s", "copy"]
    return StreamsPlan(inp, maps, notes, offset)


def split_extra(text: str | None) -> tuple[str, ...]:
    """``--ffmpeg-args "-tune film -g 240"`` -> ("-tune", "film", "-g", "240")."""
    try:
        return tuple(shlex.split(text or ""))
    except ValueError as e:
        raise EncodeError(f"--ffmpeg-args: {e}") from None
