"""``vsrife video --workers N`` / ``--ray-address ADDR``: the same job split into chunks that run as Ray tasks.

The output frame range is cut into chunks whose boundaries sit at scene cuts where one is near (source luma
differences over the job's own source, read with ``vspipe --json``). Each chunk is a task running
``vspipe --start --end`` over the same generated script and encoding its piece (video only, NUT: exact
timestamps); one GPU per task when the cluster has GPUs. The pieces are joined without re-encoding (ffmpeg's concat
demuxer) while the source's audio, subtitles, chapters and metadata are muxed in once. A task whose worker dies is
retried by Ray; finished pieces are kept in ``.{output name}.vsrife-parts/`` beside the output until the job is
done, and ``--resume`` reuses them. Frame accuracy makes the seams exact: with a lossless codec the result decodes
to the same frames as one process. Every path must be the same on every node (a shared filesystem).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .job import Job, JobError, prepare, summary
from .runner import Bar, Stopped, VideoError, check_rc, install, partial_path, pipe
from .vspipe import ClipInfo, ScriptError, find_vspipe, script_error

__all__ = ["run", "plan_chunks", "scene_cuts", "Chunk", "FAULT_ENV", "encode_chunk"]

#: Test hook: ``kill:K[:MARKER]`` kills the worker running chunk K mid-run on its first attempt (Ray retries it;
#: MARKER, default in the parts folder, records that the kill happened);
#: ``fail:K`` makes chunk K fail on every attempt (the job stops, the other pieces stay for ``--resume``).
FAULT_ENV = "VSRIFE_TEST_FAULT"
#: Source frames whose luma difference to the next exceeds this (0-1, mean absolute) count as cuts for chunking.
CUT_THRESHOLD = 0.12
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Chunk:
    """Output frames ``start``..``end`` (inclusive) encoded into ``piece``."""

    index: int
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"chunk_{self.index:05d}.nut"

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


def plan_chunks(total: int, chunk_frames: int, cuts: list[int]) -> list[Chunk]:
    """Split output frames ``0..total-1`` into chunks of about ``chunk_frames``, moved to a cut in ``cuts``
    (output frames that start a new shot) when one lies within a quarter chunk of the even boundary."""
    if total <= 0:
        return []
    n = max(1, math.ceil(total / max(1, chunk_frames)))
    step = total / n
    window = step / 4
    bounds = [0]
    for i in range(1, n):
        ideal = round(i * step)
        near = [c for c in cuts if abs(c - ideal) <= window and bounds[-1] < c < total]
        b = min(near, key=lambda c: (abs(c - ideal), c)) if near else ideal
        if bounds[-1] < b < total:
            bounds.append(b)
    bounds.append(total)
    return [Chunk(i, a, b - 1) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def scene_cuts(job: Job, workdir: Path) -> list[int]:
    """Output frames that start a new shot: source pairs whose mean absolute luma difference (on a 128-px grey
    copy) exceeds :data:`CUT_THRESHOLD`, mapped to the first output frame at or after the new shot's time."""
    full = job.script().splitlines()
    # The job's own source lines (everything up to the rife() call): the same frames, the same numbering.
    head = full[:next(i for i, ln in enumerate(full) if ln.startswith("clip = vsrife.rife("))]
    body = head + [
        "g = core.resize.Bilinear(src, 128, max(2, round(src.height * 128 / src.width / 2) * 2), format=vs.GRAY8)",
        "g = core.std.PlaneStats(g, g[1:] + g[-1])",
        "g.set_output()",
    ]
    script = workdir / "cuts.vpy"
    script.write_text("\n".join(body) + "\n")
    props = workdir / "cuts.json"
    r = subprocess.run([find_vspipe(), "-j", str(props), str(script), "--"], capture_output=True, text=True)
    if r.returncode != 0:
        raise ScriptError(script_error(r.stderr))
    frames = json.loads(props.read_text())
    f = job.opts.factor
    cuts = []
    for j, fr in enumerate(frames):
        if float(fr.get("PlaneStatsDiff", 0.0)) > CUT_THRESHOLD:
            cuts.append(math.ceil((j + 1) * f))
    return cuts


def _fault(index: int, workdir: Path, spec: str | None) -> str | None:
    """The :data:`FAULT_ENV` test hook for chunk ``index``: ``kill:K[:MARKER]`` / ``fail:K`` (see there)."""
    kind, _, rest = (spec or "").partition(":")
    k, _, marker = rest.partition(":")
    if not k.isdigit() or int(k) != index:
        return None
    if kind == "kill":
        m = Path(marker) if marker else workdir / f".chunk_{index:05d}.killed"
        if m.exists():
            return None
        m.write_text("killed once\n")
        return "kill"
    return "fail" if kind == "fail" else None


def encode_chunk(vspipe_cmd: list[str], ffmpeg_cmd: list[str], workdir: str, chunk: Chunk,
                 fault_spec: str | None) -> int:
    """One Ray task: run the chunk's ``vspipe | ffmpeg`` into a private temporary piece, then rename it into place.

    ``vspipe_cmd``/``ffmpeg_cmd`` start with the program names; they are resolved on the worker. Progress
    (frames done) goes to ``{piece}.progress`` for the driver's bar. Returns the frames written.
    """
    from .probe import tool

    wd = Path(workdir)
    piece = wd / chunk.name
    tmp = wd / f".{chunk.name}.{os.getpid()}.partial.nut"
    progress = wd / f"{chunk.name}.progress"
    vcmd = [find_vspipe(), *vspipe_cmd[1:]]
    fcmd = [tool("ffmpeg"), *ffmpeg_cmd[1:]]
    fcmd[-1] = str(tmp)
    fault = _fault(chunk.index, wd, fault_spec) if fault_spec else None
    if fault == "fail":
        raise VideoError(f"chunk {chunk.index}: failing as {FAULT_ENV} asks")

    class ProgressFile(Bar):
        def update(self, done: int, total: int | None = None) -> None:
            self.done = done
            now = time.monotonic()
            if now - self._last >= 0.5 or done >= self.total:
                self._last = now
                progress.write_text(str(done))
            if fault == "kill" and done >= max(1, self.total // 2):
                os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-run; vspipe/ffmpeg die with it

    bar = ProgressFile(chunk.frames, quiet=True)
    try:
        vs_rc, ff_rc, vs_err, ff_err = pipe(vcmd, fcmd, bar, handle_signals=False, die_with_parent=True)
        check_rc(vs_rc, ff_rc, vs_err, ff_err)
        os.replace(tmp, piece)
    finally:
        tmp.unlink(missing_ok=True)
    progress.write_text(str(chunk.frames))
    return chunk.frames


def _job_key(job: Job, chunks: list[Chunk], clip: ClipInfo, vspipe_cmd: list[str], ffmpeg_cmd: list[str]) -> str:
    text = json.dumps([job.script(), [c.__dict__ for c in chunks], clip.frames, vspipe_cmd[1:], ffmpeg_cmd[1:]])
    return hashlib.sha256(text.encode()).hexdigest()


def _workdir(job: Job) -> Path:
    return job.output.with_name(f".{job.output.name}.vsrife-parts")


def _init_ray(workers: int | None, address: str | None):
    try:
        import ray
    except ImportError:
        raise JobError("--workers/--ray-address need Ray: pip install 'vsrife[ray]'") from None
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        else:
            ray.init(num_cpus=workers, log_to_driver=False, logging_level="ERROR", include_dashboard=False)
    return ray


def _slots(ray, workers: int | None, per_task_cpus: int, gpus: bool) -> int:
    if workers is not None:
        return workers
    res = ray.cluster_resources()
    if gpus:
        return max(1, int(res.get("GPU", 0)))
    return max(1, int(res.get("CPU", 1)) // max(1, per_task_cpus))


def run(job: Job, *, workers: int | None, address: str | None, resume: bool, chunk_frames: int | None) -> int:
    """Run ``job`` on Ray; see the module docstring. Returns the exit status (raises on errors)."""
    if workers is not None and workers < 1:
        raise JobError(f"--workers: expected an integer >= 1, got {workers}")
    if job.png:
        raise JobError("--png with --workers/--ray-address is not supported (frames need one numbering)")
    if chunk_frames is not None and chunk_frames < 1:
        raise JobError(f"--chunk-frames: expected an integer >= 1, got {chunk_frames}")
    if job.output.exists() and not job.overwrite:
        raise JobError(f"{job.output} exists; add --overwrite to replace it")
    t0 = time.monotonic()
    wd = _workdir(job)
    manifest = wd / _MANIFEST
    if wd.exists() and not resume:
        done = len(list(wd.glob("chunk_*.nut")))
        raise JobError(f"{wd} holds {done} finished chunk(s) of an earlier run: add --resume to reuse them, "
                       "or delete it")
    wd.mkdir(exist_ok=True)
    script, clip = prepare(job, wd)
    ray = _init_ray(workers, address)
    gpus = ray.cluster_resources().get("GPU", 0) >= 1 and (job.opts.device or "cuda").startswith("cuda")
    threads = job.threads
    if workers is not None and address is None and not gpus:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, cores // workers)
    slots = _slots(ray, workers, threads, gpus)
    cuts = scene_cuts(job, wd)
    chunks = plan_chunks(clip.frames, chunk_frames or math.ceil(clip.frames / (3 * slots)), cuts)
    ff_piece, _ = job.ffmpeg_cmd(clip, wd / "piece.nut", video_only=True)
    vs_base = job.vspipe_cmd(script, clip, threads=threads)
    key = _job_key(job, chunks, clip, vs_base, ff_piece)
    if manifest.exists():
        old = json.loads(manifest.read_text())
        if old.get("key") != key:
            raise JobError(f"{wd} holds chunks of a different job (other flags or input); delete it to start over")
    manifest.write_text(json.dumps({"key": key, "chunks": len(chunks), "input": str(job.info.path)}))
    todo = [c for c in chunks if not (wd / c.name).exists()]
    reused = len(chunks) - len(todo)
    opts = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1 if workers is not None else threads}
    task = ray.remote(max_retries=3, retry_exceptions=False, **opts)(encode_chunk)
    fault = os.environ.get(FAULT_ENV)
    bar = Bar(clip.frames, job.quiet, label=f"{len(chunks)} chunks, {slots} at a time ")
    pending: dict = {}
    queue = list(todo)
    stopped: list[int] = []
    old_handlers = {}

    def on_signal(signum: int, frame: object) -> None:
        stopped.append(signum)

    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            old_handlers[s] = signal.signal(s, on_signal)
    try:
        while (queue or pending) and not stopped:
            while queue and len(pending) < slots:
                c = queue.pop(0)
                vcmd = job.vspipe_cmd(script, clip, start=c.start, end=c.end, threads=threads)
                pending[task.remote(vcmd, ff_piece, str(wd), c, fault)] = c
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in ready:
                c = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as e:  # noqa: BLE001 - Ray wraps the task's error
                    for r in pending:
                        ray.cancel(r, force=True)
                    cause = getattr(e, "cause", None) or e
                    msg = " ".join(str(cause).split())[-300:]
                    raise VideoError(f"chunk {c.index} (output frames {c.start}-{c.end}) failed: {msg}; the "
                                     f"finished chunks stay in {wd}: rerun with --resume") from None
            done = sum(ch.frames for ch in chunks if (wd / ch.name).exists() and ch not in pending.values())
            for ch in pending.values():
                try:
                    done += int((wd / f"{ch.name}.progress").read_text() or 0)
                except (OSError, ValueError):
                    pass
            bar.update(min(done, clip.frames))
        if stopped:
            for r in pending:
                ray.cancel(r, force=True)
            finished = sum(1 for c in chunks if (wd / c.name).exists())
            name = signal.Signals(stopped[0]).name
            raise Stopped(stopped[0], f"stopped by {name}: {finished} of {len(chunks)} chunks finished "
                                      f"(output frames up to {bar.done} of {clip.frames}); they stay in {wd}: "
                                      "rerun with --resume")
    finally:
        bar.close()
        for s, h in old_handlers.items():
            signal.signal(s, h)
    notes = _join(job, clip, chunks, wd)
    shutil.rmtree(wd, ignore_errors=True)
    if not job.quiet:
        line = summary(job, clip, time.monotonic() - t0, notes)
        print(f"{line}; {len(chunks)} chunks on Ray{f', {reused} reused' if reused else ''}", file=sys.stderr)
    return 0


def _join(job: Job, clip: ClipInfo, chunks: list[Chunk], wd: Path) -> list[str]:
    """Concatenate the pieces (no re-encoding), mux the source's other streams once, rename into place.

    Returns the notes on what the container changed (as :meth:`Job.ffmpeg_cmd`)."""
    listing = wd / "pieces.txt"
    # Exact durations: the demuxer then places every piece at its own first frame's time (no rounding).
    listing.write_text("".join(f"file '{wd / c.name}'\nduration {float(c.frames / clip.fps):.9f}\n"
                               for c in chunks))
    tmp = partial_path(job.output)
    cmd, notes = job.ffmpeg_cmd(clip, tmp, pieces=listing)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
            raise VideoError(f"joining the chunks failed: {last}; they stay in {wd}")
        install(tmp, job.output, job.overwrite)
    finally:
        tmp.unlink(missing_ok=True)
    return notes

