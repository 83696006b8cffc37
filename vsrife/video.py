"""``vsrife video INPUT``: a video file in, the interpolated video out (``vspipe | ffmpeg`` over the generated script).

Also ``vsrife script INPUT > job.vpy`` (the same flags; prints the script). The output is written under a temporary
name beside it and renamed when complete; Ctrl-C or SIGTERM stops both processes, removes the partial file and says
where it stopped. ``--workers``/``--ray-address`` hand the job to :mod:`vsrife.distributed`. Exit status: 0 done,
1 error (one line on stderr), 130/143 stopped by SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import tempfile
import time
from pathlib import Path

from .encode import CODECS, EncodeError
from .job import Job, JobError, ProbeError, default_threads, plan_job, summary
from .script import add_job_arguments
from .runner import Bar, Stopped, VideoError, check_rc, clock, install, partial_path, pipe, remove
from .vspipe import ScriptError

__all__ = ["register", "run_local", "handle_error"]


def run_local(job: Job) -> int:
    """Run the job in one ``vspipe | ffmpeg`` pipe; returns the exit status (raises on errors)."""
    t0 = time.monotonic()
    tmp = partial_path(job.output)
    with tempfile.TemporaryDirectory(prefix=".vsrife-", dir=job.output.parent) as wd:
        # The script is not evaluated twice: its errors come from the run itself, its frame count from vspipe.
        clip = job.expected_clip()
        script = Path(wd) / "job.vpy"
        script.write_text(job.script(job.describe(clip)))
        if job.png:
            tmp.mkdir()
        ff, notes = job.ffmpeg_cmd(clip, tmp)
        bar = Bar(clip.frames, job.quiet)
        try:
            vs_rc, ff_rc, vs_err, ff_err = pipe(job.vspipe_cmd(script, clip), ff, bar)
            bar.close()
            check_rc(vs_rc, ff_rc, vs_err, ff_err)
            install(tmp, job.output, job.overwrite)
        except Stopped as e:
            bar.close()
            remove(tmp)
            at = bar.done / clip.fps if clip.fps else 0
            name = signal.Signals(e.signum).name
            raise Stopped(e.signum, f"stopped by {name} at output frame {bar.done} of {bar.total} "
                                    f"({clock(float(at))} of {clock(float(bar.total / clip.fps))}); "
                                    f"{job.output} not written") from None
        except BaseException:
            bar.close()
            remove(tmp)
            raise
    if not job.quiet:
        clip = dataclasses.replace(clip, frames=bar.total)
        print(summary(job, clip, time.monotonic() - t0, notes), file=sys.stderr)
    return 0


def _stop_early(signum: int, frame: object) -> None:
    raise Stopped(signum, f"stopped by {signal.Signals(signum).name} before the first frame; nothing written")


def _cmd_video(args: argparse.Namespace) -> int:
    old = {s: signal.signal(s, _stop_early) for s in (signal.SIGINT, signal.SIGTERM)}  # the pipe has its own
    try:
        return _video(args)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _video(args: argparse.Namespace) -> int:
    distributed = args.workers is not None or args.ray_address is not None
    job = plan_job(args)
    if distributed:
        from . import distributed as dist

        return dist.run(job, workers=args.workers, address=args.ray_address, resume=args.resume,
                        chunk_frames=args.chunk_frames)
    if args.resume:
        raise JobError("--resume reuses the finished chunks of a Ray run: give it with --workers/--ray-address")
    return run_local(job)


def _cmd_script(args: argparse.Namespace) -> int:
    job = plan_job(args, check_output=False)
    sys.stdout.write(job.script(job.describe(job.expected_clip())))
    return 0


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="INPUT", help="a video file (anything ffmpeg and bestsource read)")
    add_job_arguments(p)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--output", metavar="PATH", help="output file (default: {stem}_{N}X_{fps}fps.{ext} "
                   "beside the input, as inference_video.py)")
    o.add_argument("--ext", help="output container when --output is not given (default mp4; mkv for ffv1)")
    o.add_argument("--png", action="store_true", help="write PNG frames 0000000.png... into a folder instead")
    o.add_argument("--codec", help=f"video encoder: {', '.join(sorted(CODECS))} or any ffmpeg encoder name "
                   "(default x264)")
    o.add_argument("--crf", type=float, help="quality for x264/x265/vp9/av1 (default 18)")
    o.add_argument("--preset", help="x264/x265/av1 preset (default: the encoder's, medium for x264)")
    o.add_argument("--ffmpeg-args", metavar="ARGS", help='more ffmpeg output options, e.g. "-tune film -g 240"')
    o.add_argument("--overwrite", action="store_true", help="replace an existing output")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary (errors only)")
    t_cores, t_enc = default_threads()
    t = p.add_argument_group("threads")
    t.add_argument("--threads", type=int, help=f"torch threads (default: every core, {t_cores} here)")
    t.add_argument("--encoder-threads", type=int, help=f"encoder threads (default {t_enc} here; 0: the encoder's "
                   "own choice)")
    r = p.add_argument_group("Ray (pip install 'vsrife[ray]'; docs/video.md)")
    r.add_argument("--workers", type=int, metavar="N", help="split the job over N tasks on a local Ray")
    r.add_argument("--ray-address", metavar="ADDR", help="run the tasks on an existing Ray cluster (auto, "
                   "host:6379, ray://host:10001)")
    r.add_argument("--chunk-frames", type=int, metavar="N", help="output frames per chunk (default: about "
                   "3 chunks per worker, boundaries moved to scene cuts)")
    r.add_argument("--resume", action="store_true", help="reuse the finished chunks of an interrupted Ray run")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``video`` and ``script`` subcommands to ``python -m vsrife``'s parser."""
    p = sub.add_parser("video", help="interpolate a video file into a new video file (vspipe | ffmpeg)",
                       description="Interpolate INPUT with RIFE and encode it, keeping audio, subtitles, chapters "
                                   "and metadata. Example: vsrife video --exp 1 video.mp4 -> video_2X_50fps.mp4")
    _add_common(p)
    p.set_defaults(func=_cmd_video)
    p = sub.add_parser("script", help="print the VapourSynth script `vsrife video` would run (same flags)",
                       description="Print the .vpy that `vsrife video` with the same flags runs; "
                                   "its header has the vspipe | ffmpeg line.")
    _add_common(p)
    p.set_defaults(func=_cmd_script)


def handle_error(e: BaseException) -> int | None:
    """Exit status and one stderr line for this module's errors (None: not ours)."""
    if isinstance(e, Stopped):
        print(f"vsrife: {e}", file=sys.stderr)
        return 128 + e.signum
    if isinstance(e, (JobError, ProbeError, EncodeError, ScriptError, VideoError)):
        print(f"vsrife: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    return None
