"""One ``vsrife video`` job: the parsed flags checked against the input, the output path, and the command lines.

``plan_job(args) -> Job`` probes the input, checks every flag (raising :class:`JobError`, :class:`ProbeError` or
:class:`EncodeError` with a one-line message), picks the output name as ECCV2022-RIFE's ``inference_video.py`` does
(``{stem}_{N}X_{fps}fps.{ext}`` beside the input) and refuses an existing output without ``--overwrite``.
``Job.vspipe_cmd`` / ``Job.ffmpeg_cmd`` build the two processes of the pipe. Used by :mod:`vsrife.video` (one
process) and :mod:`vsrife.distributed` (chunks on Ray). Imports neither VapourSynth nor torch.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType

from . import encode
from .encode import EncodeError, EncodeOptions
from .probe import MediaInfo, ProbeError, probe, tool
from .script import JobError, JobOptions, build_script, job_options
from .vspipe import ClipInfo, clip_info, find_vspipe

__all__ = ["Job", "plan_job", "JobError", "default_threads", "check_model"]


def default_threads() -> tuple[int, int]:
    """Thread budgets (torch, encoder) on this machine: torch gets every core, the encoder one thread.

    Measured on 2 cores (docs/video.md, "Threads"): the encoder's work at 720p is a few percent of RIFE's, and a
    second encoder thread only preempts torch's OpenMP team, which then waits at every barrier for the preempted
    thread. ``--threads`` / ``--encoder-threads`` override these.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores), 1 if cores <= 4 else max(1, cores // 4)


def _specs() -> ModuleType:
    """``vsrife/models/specs.py`` (the model table, standard library only) loaded by itself.

    Importing it as ``vsrife.models.specs`` would run ``vsrife.models`` first, which imports torch: seconds of
    start-up spent in this process only to check a name, while torch runs in vspipe.
    """
    name = "vsrife._model_specs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "models" / "specs.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def check_model(model: str, model_path: str | None) -> None:
    """Fail early, with how to fix it, for an unknown model, missing weights or a missing weights file."""
    if model_path is not None:
        p = Path(model_path).expanduser()
        if not p.is_file():
            raise JobError(f"--model-path: no such file: {p}")
        return
    from .paths import model_dir

    specs = _specs()
    try:
        filename = specs.get_spec(model).filename
    except specs.UnknownModelError:
        raise JobError(f"--model: unknown model {model!r}; known: {', '.join(specs.MODEL_NAMES)} (`vsrife list`)") \
            from None
    path = model_dir() / filename
    if not (path.is_file() and path.stat().st_size > 0):
        raise JobError(f"--model {model}: weights are not downloaded; run `vsrife download {model}` "
                       f"(or pass --model-path FILE)")


def _factor_label(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{float(f):g}"


@dataclass
class Job:
    """A checked job: the input, the script options, the encoder and where the result goes."""

    info: MediaInfo
    opts: JobOptions
    enc: EncodeOptions
    output: Path
    ext: str
    png: bool
    threads: int
    overwrite: bool
    quiet: bool

    @property
    def out_rate(self) -> Fraction:
        return self.info.rate * self.opts.factor

    def script(self, command: str | None = None) -> str:
        return build_script(self.opts, self.info, command)

    def script_args(self, threads: int | None = None) -> list[str]:
        return ["-a", f"threads={threads or self.threads}"]

    def vspipe_cmd(self, script: Path, clip: ClipInfo, *, start: int | None = None, end: int | None = None,
                   progress: bool = True, threads: int | None = None) -> list[str]:
        """``vspipe`` writing the script's frames (``start``..``end`` inclusive, output frames) to stdout."""
        cmd = [find_vspipe(), *self.script_args(threads), *encode.vspipe_args(clip.color_family)]
        if progress:
            cmd.append("-p")
        if start is not None:
            cmd += ["--start", str(start)]
        if end is not None:
            cmd += ["--end", str(end)]
        return cmd + [str(script), "-"]

    def ffmpeg_cmd(self, clip: ClipInfo, dest: Path, *, pieces: Path | None = None,
                   video_only: bool = False) -> tuple[list[str], list[str]]:
        """ffmpeg reading the pipe (or, with ``pieces``, a concat list copied as is) into ``dest``; also notes."""
        ff = [tool("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        if self.png:
            return ff + encode.pipe_input_args(clip) + ["-c:v", "png", "-start_number", "0", "-f", "image2",
                                                         str(dest / "%07d.png")], []
        plan = encode.streams_plan(self.info, self.ext, self.opts.start, self.opts.end, self.info.rate)
        if pieces is not None:
            ff += ["-itsoffset", f"{plan.offset:.6f}"] if plan.offset > 0 else []
            ff += ["-f", "concat", "-safe", "0", "-i", str(pieces)]
            vargs = ["-c:v", "copy"]
        else:
            ff += encode.pipe_input_args(clip, 0.0 if video_only else plan.offset)
            vargs = encode.video_args(self.enc, self.info, clip)
        if video_only:
            return ff + ["-map", "0:v:0"] + vargs + ["-f", "nut", str(dest)], []
        return ff + plan.input_args + plan.map_args + vargs + [str(dest)], plan.notes

    def expected_clip(self) -> ClipInfo:
        """The script's output as known without running it (frames: 0, vspipe's progress tells)."""
        pf = self.info.pix_fmt
        rgb = self.png or pf.startswith(("gbr", "rgb", "bgr", "argb", "abgr"))
        m = re.search(r"p(\d+)(?:le|be)?$", pf)
        depth = int(m.group(1)) if m else (16 if re.search(r"(48|64)(le|be)?$", pf) else 8)
        bits = (8 if depth <= 8 else 16) if self.png else depth
        width = self.info.width // 2 // 4 * 4 * 2 if self.opts.montage else self.info.width
        return ClipInfo(width, self.info.height, 0, self.out_rate, "", "RGB" if rgb else "YUV", bits)

    def describe(self, clip: ClipInfo) -> str:
        """The ``vspipe | ffmpeg`` line for the script's header (paths as the user would type them)."""
        vs = self.vspipe_cmd(Path("job.vpy"), clip, progress=False)
        vs[0] = "vspipe"
        ff, _ = self.ffmpeg_cmd(clip, self.output)
        ff[0] = "ffmpeg"
        return shlex.join(vs) + " | " + shlex.join(ff)


def _output_path(args: argparse.Namespace, info: MediaInfo, factor: Fraction, ext: str, png: bool) -> Path:
    if args.output:
        return Path(args.output).expanduser().absolute()
    fps = round(float(info.rate * factor))
    name = f"{info.path.stem}_{_factor_label(factor)}X_{fps}fps" + ("" if png else f".{ext}")
    return info.path.with_name(name)


def plan_job(args: argparse.Namespace, *, check_output: bool = True) -> Job:
    """Check everything that can be checked before a frame is made; see the module docstring."""
    info = probe(args.input)
    png = bool(getattr(args, "png", False))
    opts = job_options(args, info, png=png)
    check_model(opts.model, opts.model_path)
    codec = args.codec or ("png" if png else "x264")
    if png and codec != "png":
        raise JobError("--png writes PNG frames; --codec does not apply")
    ext = (args.ext or ("" if png else encode.default_ext(codec))).lstrip(".")
    if png and args.ext:
        raise JobError("--png writes a folder of frames; --ext does not apply")
    enc_threads = args.encoder_threads if args.encoder_threads is not None else default_threads()[1]
    threads = args.threads if args.threads is not None else default_threads()[0]
    if threads < 1 or enc_threads < 0:
        raise JobError("--threads must be >= 1 and --encoder-threads >= 0 (0: the encoder's own choice)")
    enc = EncodeOptions(codec=codec, crf=args.crf, preset=args.preset, threads=enc_threads or None,
                        extra=encode.split_extra(args.ffmpeg_args))
    encode.video_args(enc, info, ClipInfo(info.width, info.height, 0, info.rate, "", "YUV", 8))  # flag checks
    output = _output_path(args, info, opts.factor, ext, png)
    if output == info.path:
        raise JobError(f"--output is the input file: {output}")
    if check_output and output.exists() and not args.overwrite:
        raise JobError(f"{output} exists; add --overwrite to replace it")
    if not output.parent.is_dir():
        raise JobError(f"--output: no such directory: {output.parent}")
    tool("ffmpeg")
    find_vspipe()
    return Job(info=info, opts=opts, enc=enc, output=output, ext=ext, png=png, threads=threads,
               overwrite=args.overwrite, quiet=args.quiet)


def _rate(r) -> str:
    return f"{r.numerator}/{r.denominator}" if r.denominator != 1 else str(r.numerator)


def summary(job: Job, clip: ClipInfo, seconds: float, notes: list[str]) -> str:
    """``in.mp4: 25 fps -> 264 frames @ 50 fps in 76.4 s (3.46 output fps), kept 1 audio -> out.mp4``."""
    kept = [] if job.png else [f"{len(job.info.others(t))} {t}" for t in ("audio", "subtitle")
                               if job.info.others(t)]
    if job.info.chapters and not job.png:
        kept.append(f"{job.info.chapters} chapters")
    text = (f"{job.info.path.name}: {_rate(job.info.rate)} fps -> {clip.frames} frames @ {_rate(clip.fps)} fps "
            f"in {seconds:.1f} s ({clip.frames / seconds if seconds > 0 else 0:.2f} output fps)")
    if kept:
        text += ", kept " + ", ".join(kept)
    return "; ".join([text + f" -> {job.output}", *notes])


def prepare(job: Job, workdir: Path) -> tuple[Path, ClipInfo]:
    """Write the script into ``workdir`` and evaluate it once (``vspipe --info``): errors surface here."""
    script = workdir / "job.vpy"
    script.write_text(job.script())
    clip = clip_info(script, job.script_args())
    script.write_text(job.script(job.describe(clip)))
    return script, clip


__all__ += ["EncodeError", "ProbeError", "summary", "prepare"]
