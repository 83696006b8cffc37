"""The VapourSynth script behind ``vsrife video``: job options in, ``.vpy`` text out.

``vsrife script INPUT [flags] > job.vpy`` prints it (with the ``vspipe | ffmpeg`` line ``vsrife video`` would run in
its header); ``vsrife video`` runs exactly this text with ``vspipe``. The script reads the source with
``bs.VideoSource`` (variable-rate input made constant at its base rate), keeps a source range, calls
:func:`vsrife.rife` and, for ``--montage``, stacks the original beside the result. Its torch thread budget is the
script argument ``threads`` (``vspipe -a threads=N``). This module imports neither VapourSynth nor torch.
"""
from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from .probe import MediaInfo

__all__ = ["JobOptions", "JobError", "add_job_arguments", "job_options", "build_script", "parse_position",
           "parse_fps", "output_frames", "SCALES"]

#: Allowed ``--scale`` values (those of :data:`vsrife.filter.SCALES`; repeated so that this module stays light).
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
PRECISIONS = ("fp32", "bf16", "fp16")


class JobError(ValueError):
    """A flag value that cannot be used (one-line message naming the flag and the allowed values)."""


@dataclass(frozen=True)
class JobOptions:
    """Everything that shapes the generated script (encoding options live in :mod:`vsrife.encode`)."""

    factor: Fraction                 # output rate / source rate
    model: str = "4.0"
    model_path: str | None = None
    scale: float = 1.0
    sc: bool = True
    dedup: bool = False
    fade: bool | None = None         # None: rife()'s default (the flag only exists when rife() has ``fade``)
    precision: str | None = None
    device: str | None = None
    start: int = 0                   # first source frame
    end: int | None = None           # source frame the range stops before (None: the end)
    montage: bool = False
    rgb: bool = False                # RGB output (--png)


def parse_fps(text: str) -> Fraction:
    """``"60"``, ``"59.94"``, ``"60000/1001"`` -> a positive Fraction (decimals are taken exactly as written)."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise JobError(f"--fps: expected N or N/D (e.g. 60 or 60000/1001), got {text!r}") from None
    if value <= 0:
        raise JobError(f"--fps: must be positive, got {text!r}")
    return value


_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)$")


def parse_position(text: str, rate: Fraction, flag: str) -> int:
    """A source position -> a source frame index: ``123`` (a frame), ``12.5s`` or ``[H:]M:S[.ms]`` (a time)."""
    t = text.strip()
    if re.fullmatch(r"\d+", t):
        return int(t)
    seconds: float | None = None
    if t.endswith("s") and re.fullmatch(r"\d+(?:\.\d*)?", t[:-1]):
        seconds = float(t[:-1])
    elif ":" in t and (m := _TIME.match(t)):
        parts = [p for p in m.groups() if p is not None]
        seconds = 0.0
        for p in parts:
            seconds = seconds * 60 + float(p)
    if seconds is None:
        raise JobError(f"{flag}: expected a source frame number (123), seconds (12.5s) or a time (1:02.5), "
                       f"got {text!r}")
    return math.floor(seconds * float(rate) + 1e-6)


def output_frames(source_frames: int, factor: Fraction) -> int:
    """Frames ``rife()`` makes from ``source_frames`` (the filter's rule: ``ceil(N * factor)``)."""
    return math.ceil(source_frames * factor)


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    """The flags that shape the script (shared by ``vsrife script`` and ``vsrife video``)."""
    g = p.add_argument_group("interpolation (as ECCV2022-RIFE's inference_video.py where the name is the same)")
    g.add_argument("--exp", type=int, metavar="K", help="multiply the frame rate by 2^K")
    g.add_argument("--multi", type=int, metavar="N", help="multiply the frame rate by N (default 2)")
    g.add_argument("--fps", metavar="N[/D]", help="target frame rate, exact (60, 60000/1001, 59.94)")
    g.add_argument("--scale", type=float, default=None, help="flow resolution: 0.25, 0.5, 1.0 (default), 2.0, 4.0")
    g.add_argument("--UHD", action="store_true", help="4K input: the same as --scale 0.5")
    g.add_argument("--montage", action="store_true",
                   help="the middle half of the original (left) beside the interpolated (right)")
    g.add_argument("--model", default="4.0", help="model name (`vsrife list`; default 4.0)")
    g.add_argument("--model-path", metavar="FILE", help="a weights file instead of the cached model")
    g.add_argument("--dedup", action="store_true", help="anime: treat runs of duplicate frames as one drawing")
    g.add_argument("--sc", dest="sc", action="store_true", default=True, help="never blend across scene cuts "
                   "(default)")
    g.add_argument("--no-sc", dest="sc", action="store_false", help="interpolate across scene cuts too")
    if _rife_has_fade():
        g.add_argument("--fade", dest="fade", action="store_true", default=None,
                       help="fade-aware interpolation (rife()'s default)")
        g.add_argument("--no-fade", dest="fade", action="store_false", help="plain RIFE on fades too")
    g.add_argument("--precision", choices=PRECISIONS,
                   help="default: bf16 on a CPU with native bf16 (AVX-512 BF16/AMX), else fp32 (fp16 for RGBH on a "
                        "GPU); bf16 (CPU or GPU), fp16 (GPU)")
    g.add_argument("--device", help="cpu, cuda, cuda:1 (default: CUDA when available, else CPU)")
    g.add_argument("--start", metavar="POS", help="first source frame: 123, 12.5s or 1:02.5 (default: the start)")
    g.add_argument("--end", metavar="POS", help="source position to stop before (default: the end)")


def _rife_has_fade() -> bool:
    """Whether :func:`vsrife.rife` takes ``fade`` (read from the source, without importing VapourSynth/torch)."""
    from pathlib import Path

    try:
        text = (Path(__file__).resolve().parent / "filter.py").read_text()
    except OSError:
        return False
    head = text.split("def rife(", 1)[1].split(") ->", 1)[0] if "def rife(" in text else ""
    return re.search(r"\bfade\s*:", head) is not None


def job_options(args: argparse.Namespace, info: MediaInfo, *, png: bool = False) -> JobOptions:
    """Check the flags against each other and the input; raises :class:`JobError`."""
    if args.exp is not None and args.multi is not None:
        raise JobError("--exp and --multi: give one of them (--exp K means --multi 2^K)")
    if args.fps is not None and (args.exp is not None or args.multi is not None):
        raise JobError("--fps sets the rate itself: give --fps or --multi/--exp, not both")
    if args.exp is not None:
        if not 0 <= args.exp <= 6:
            raise JobError(f"--exp: expected 0..6, got {args.exp}")
        factor = Fraction(2 ** args.exp)
    elif args.fps is not None:
        factor = parse_fps(args.fps) / info.rate
    else:
        multi = 2 if args.multi is None else args.multi
        if multi < 1:
            raise JobError(f"--multi: expected an integer >= 1, got {multi}")
        factor = Fraction(multi)
    scale = 1.0 if args.scale is None else args.scale
    if args.UHD:
        if args.scale not in (None, 0.5):
            raise JobError(f"--UHD means --scale 0.5; it contradicts --scale {args.scale:g}")
        scale = 0.5
    if scale not in SCALES:
        raise JobError(f"--scale: expected one of {', '.join(f'{s:g}' for s in SCALES)}, got {scale:g}")
    start = parse_position(args.start, info.rate, "--start") if args.start is not None else 0
    end = parse_position(args.end, info.rate, "--end") if args.end is not None else None
    if end is not None and end <= start:
        raise JobError(f"--end ({args.end}) must come after --start ({args.start or 0})")
    return JobOptions(factor=factor, model=args.model, model_path=args.model_path, scale=scale, sc=args.sc,
                      dedup=args.dedup, fade=getattr(args, "fade", None), precision=args.precision,
                      device=args.device, start=start, end=end, montage=args.montage, rgb=png)


def _rate(r: Fraction) -> str:
    return f"{r.numerator}/{r.denominator}" if r.denominator != 1 else str(r.numerator)


def _matrix(info: MediaInfo) -> str:
    """zimg's name for the input matrix (unknown: 709 at 1280x720 and up, else 601, as vsrife.color)."""
    known = {"bt709": "709", "smpte170m": "170m", "bt470bg": "470bg", "bt2020nc": "2020ncl", "fcc": "fcc",
             "smpte240m": "240m"}
    if info.color_space in known:
        return known[info.color_space]
    return "709" if info.width >= 1280 or info.height >= 720 else "170m"


def build_script(opts: JobOptions, info: MediaInfo, command: str | None = None) -> str:
    """The ``.vpy`` text for ``opts`` on ``info``; ``command`` (the vspipe | ffmpeg line) goes into its header."""
    f = opts.factor
    lines = [
        f"# vsrife job script: {info.path.name} ({info.width}x{info.height}, {_rate(info.rate)} fps"
        f"{', variable rate' if info.vfr else ''}) -> x{_rate(f)} = {_rate(info.rate * f)} fps.",
        "# Written by `vsrife script`; `vsrife video` with the same flags runs exactly this script. Edit freely.",
        "# Script argument: threads=N (vspipe -a threads=N), torch's thread budget (default: all cores).",
    ]
    if command:
        lines += ["# The command `vsrife video` runs:", f"#   {command}"]
    lines += [
        "import vapoursynth as vs",
        "",
        "import vsrife",
        "",
        "core = vs.core",
        'threads = int(globals()["threads"]) if "threads" in globals() else None',
        "",
    ]
    src_args = repr(str(info.path))
    if info.vfr:
        lines.append(f"# Variable frame rate: made constant at the stream's base rate {_rate(info.rate)} "
                     "(frames repeated where the source has gaps; --dedup spreads the motion over them).")
        src_args += f", fpsnum={info.rate.numerator}, fpsden={info.rate.denominator}"
    lines.append(f"src = core.bs.VideoSource({src_args})")
    if not info.vfr:
        lines.append(f"src = core.std.AssumeFPS(src, fpsnum={info.rate.numerator}, fpsden={info.rate.denominator})"
                     "  # the exact rate")
    n_out_expr = None
    if opts.start or opts.end is not None:
        stop = "" if opts.end is None else str(opts.end + 1)
        lines += [f"# Source range [{opts.start}, {'end' if opts.end is None else opts.end}): frame "
                  f"{'end' if opts.end is None else opts.end} is kept for the interpolation up to it.",
                  f"src = src[{opts.start}:{stop}]"]
        if opts.end is not None:
            n_out_expr = f"math.ceil({opts.end - opts.start} * {f.numerator} / {f.denominator})"
    kwargs = [f"model={opts.model!r}"]
    if opts.model_path:
        kwargs.append(f"model_path={opts.model_path!r}")
    kwargs.append(f"factor_num={f.numerator}, factor_den={f.denominator}")
    if opts.scale != 1.0:
        kwargs.append(f"scale={opts.scale!r}")
    kwargs.append(f"sc={opts.sc!r}")
    if opts.dedup:
        kwargs.append("dedup=True")
    if opts.fade is not None:
        kwargs.append(f"fade={opts.fade!r}")
    if opts.device:
        kwargs.append(f"device={opts.device!r}")
    if opts.precision:
        kwargs.append(f"precision={opts.precision!r}")
    kwargs.append("num_threads=threads")
    lines.append(f"clip = vsrife.rife(src, {', '.join(kwargs)})")
    if n_out_expr:
        lines.insert(lines.index("import vapoursynth as vs"), "import math")
        lines.append(f"clip = clip[:{n_out_expr}]")
    if opts.montage:
        lines += [
            "# Montage: the middle half of the original (at the new rate) left, the interpolated right.",
            "w = src.width // 2 // 4 * 4",
            "left = src.width // 4 // 2 * 2",
            f"orig = core.std.FrameEval(clip, lambda n: src[min(n * {f.denominator} // {f.numerator}, "
            "src.num_frames - 1)])",
            "crop = dict(left=left, right=src.width - left - w)",
            "clip = core.std.CopyFrameProps(core.std.StackHorizontal([core.std.Crop(orig, **crop), "
            "core.std.Crop(clip, **crop)]), clip)",
        ]
    if opts.rgb:
        rng = "full" if info.color_range == "pc" else "limited"
        lines += ["# PNG frames: R'G'B', 8 bits (16 for deeper sources).",
                  "if clip.format.color_family != vs.RGB:",
                  "    rgb = vs.RGB24 if clip.format.bits_per_sample <= 8 else vs.RGB48",
                  f"    clip = core.resize.Bicubic(clip, format=rgb, matrix_in_s={_matrix(info)!r}, "
                  f"range_in_s={rng!r})"]
    lines += ["if clip.format.color_family == vs.RGB:  # raw output in ffmpeg's gbrp plane order (G, B, R)",
              "    clip = core.std.ShufflePlanes(clip, [1, 2, 0], vs.RGB)",
              "clip.set_output()", ""]
    return "\n".join(lines)
