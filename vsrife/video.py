"""``vsrife video INPUT``: a video file in, the interpolated video out (``vspipe | ffmpeg`` over the generated script).

Also ``vsrife script INPUT > job.vpy`` (the same flags; prints the script). The output is written under a temporary
name beside it and renamed when complete; Ctrl-C or SIGTERM stops both processes, removes the partial file and says
where it stopped. ``--workers``/``--ray-address`` hand the job to :mod:`vsrife.distributed`. Exit status: 0 done,
1 error (one line on stderr), 130/143 stopped by SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .encode import CODECS, EncodeError
from .job import Job, JobError, ProbeError, default_threads, plan_job
from .script import add_job_arguments
from .vspipe import PROGRESS, ClipInfo, ScriptError, clip_info, script_error

__all__ = ["register", "run_local", "Stopped", "Bar", "VideoError"]


class VideoError(RuntimeError):
    """The pipeline failed (message: one line, e.g. the encoder's last error line)."""


class Stopped(Exception):
    """SIGINT/SIGTERM arrived; ``signum`` says which, the message says where it stopped."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


def _clock(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Bar:
    """A one-line progress bar on stderr: frames, output fps, ETA (a line every 10 s when stderr is no terminal)."""

    def __init__(self, total: int, quiet: bool, label: str = "") -> None:
        self.total, self.quiet, self.label = total, quiet, label
        self.done = 0
        self.t0 = time.monotonic()
        self._last = 0.0
        self._tty = sys.stderr.isatty()

    def update(self, done: int) -> None:
        self.done = done
        if self.quiet:
            return
        now = time.monotonic()
        if not self._tty and now - self._last < 10 and done < self.total:
            return
        self._last = now
        el = now - self.t0
        fps = done / el if el > 0 else 0.0
        eta = (self.total - done) / fps if fps > 0 else 0.0
        width = 24
        fill = int(width * done / self.total) if self.total else width
        line = (f"{self.label}[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} frames "
                f"{fps:5.2f} fps  ETA {_clock(eta)}")
        sys.stderr.write(("\r" + line + "\033[K") if self._tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.quiet and self._tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


class _Signals:
    """Turns SIGINT/SIGTERM into a recorded signal and a callback (restores the old handlers on exit)."""

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self.on_signal = on_signal
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        self.on_signal(signum)

    def __exit__(self, *exc: object) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)  # type: ignore[arg-type]


def _reader(stream, sink: list[str], on_progress: Callable[[int], None] | None = None) -> threading.Thread:
    """Collect a child's stderr (split at CR/LF); report ``Frame: n/N`` lines to ``on_progress``."""

    def run() -> None:
        buf = b""
        while True:
            chunk = stream.read1(4096) if hasattr(stream, "read1") else stream.read(4096)
            if not chunk:
                break
            buf += chunk
            *parts, buf = buf.replace(b"\r", b"\n").split(b"\n")
            for raw in parts:
                ln = raw.decode(errors="replace")
                m = PROGRESS.search(ln)
                if m and on_progress:
                    on_progress(int(m.group(1)))
                elif ln.strip():
                    sink.append(ln)
                    del sink[:-200]
        if buf.strip():
            sink.append(buf.decode(errors="replace"))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def pipe(vspipe_cmd: list[str], ffmpeg_cmd: list[str], bar: Bar, *,
         stop_check: Callable[[], int | None] | None = None) -> tuple[int, int, list[str], list[str]]:
    """Run ``vspipe | ffmpeg`` in their own sessions; return (vspipe rc, ffmpeg rc, vspipe err, ffmpeg err).

    Each child gets its own process group so that a terminal's Ctrl-C reaches only us; we stop them in order.
    """
    vs_err: list[str] = []
    ff_err: list[str] = []
    vsp = subprocess.Popen(vspipe_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    ff = subprocess.Popen(ffmpeg_cmd, stdin=vsp.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          start_new_session=True)
    assert vsp.stdout is not None
    vsp.stdout.close()  # ffmpeg holds the read end; vspipe gets EPIPE if ffmpeg dies
    readers = [_reader(vsp.stderr, vs_err, bar.update), _reader(ff.stderr, ff_err)]

    def stop(_: int = 0) -> None:
        for p in (vsp,):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    with _Signals(stop) as sig:
        while True:
            try:
                ff_rc = ff.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if stop_check and stop_check() is not None:
                    stop()
        if ff_rc != 0 and vsp.poll() is None:
            stop()
        vs_rc = vsp.wait()
        for r in readers:
            r.join(timeout=5)
        if sig.signum is not None:
            raise Stopped(sig.signum, "")
    return vs_rc, ff_rc, vs_err, ff_err


def _check_rc(vs_rc: int, ff_rc: int, vs_err: list[str], ff_err: list[str]) -> None:
    if ff_rc != 0:
        last = next((ln for ln in reversed(ff_err) if ln.strip()), f"exit status {ff_rc}")
        raise VideoError(f"the encoder failed: {last.strip()}")
    if vs_rc != 0:
        raise ScriptError(script_error("\n".join(vs_err)))


def _partial(path: Path) -> Path:
    """The temporary name beside ``path`` (hidden, same directory: the final rename is atomic)."""
    return path.with_name(f".{path.stem}.vsrife-partial-{os.getpid()}{path.suffix}")


def _install(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Put the finished ``tmp`` (a file or a frame folder) at ``dest``."""
    if tmp.is_dir():
        if dest.exists():
            if not overwrite:
                raise VideoError(f"{dest} appeared while encoding; the result is kept in {tmp}")
            old = dest.with_name(f".{dest.name}.vsrife-old-{os.getpid()}")
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            tmp.rename(dest)
        return
    if dest.exists() and not overwrite:
        raise VideoError(f"{dest} appeared while encoding; the result is kept in {tmp}")
    if dest.is_dir():
        raise VideoError(f"{dest} is a directory; the result is kept in {tmp}")
    os.replace(tmp, dest)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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


def run_local(job: Job) -> int:
    """Run the job in one ``vspipe | ffmpeg`` pipe; returns the exit status (raises on errors)."""
    t0 = time.monotonic()
    tmp = _partial(job.output)
    with tempfile.TemporaryDirectory(prefix=".vsrife-", dir=job.output.parent) as wd:
        script, clip = prepare(job, Path(wd))
        if job.png:
            tmp.mkdir()
        ff, notes = job.ffmpeg_cmd(clip, tmp)
        bar = Bar(clip.frames, job.quiet)
        try:
            vs_rc, ff_rc, vs_err, ff_err = pipe(job.vspipe_cmd(script, clip), ff, bar)
            bar.close()
            _check_rc(vs_rc, ff_rc, vs_err, ff_err)
            _install(tmp, job.output, job.overwrite)
        except Stopped as e:
            bar.close()
            _remove(tmp)
            at = bar.done / clip.fps if clip.fps else 0
            name = signal.Signals(e.signum).name
            raise Stopped(e.signum, f"stopped by {name} at output frame {bar.done} of {clip.frames} "
                                    f"({_clock(float(at))} of {_clock(float(clip.frames / clip.fps))}); "
                                    f"{job.output} not written") from None
        except BaseException:
            bar.close()
            _remove(tmp)
            raise
    if not job.quiet:
        print(summary(job, clip, time.monotonic() - t0, notes), file=sys.stderr)
    return 0


def _cmd_video(args: argparse.Namespace) -> int:
    distributed = args.workers is not None or args.ray_address is not None
    job = plan_job(args, check_output=not (distributed and args.resume))
    if distributed:
        from . import distributed as dist

        return dist.run(job, workers=args.workers, address=args.ray_address, resume=args.resume,
                        chunk_frames=args.chunk_frames)
    if args.resume:
        raise JobError("--resume reuses the finished chunks of a Ray run: give it with --workers/--ray-address")
    return run_local(job)


def _cmd_script(args: argparse.Namespace) -> int:
    job = plan_job(args, check_output=False)
    with tempfile.TemporaryDirectory(prefix="vsrife-") as wd:
        script, _ = prepare(job, Path(wd))
        sys.stdout.write(script.read_text())
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
