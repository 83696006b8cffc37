"""Running ``vspipe | ffmpeg``: the two processes, their stderr, the progress bar, SIGINT/SIGTERM.

``pipe(vspipe_cmd, ffmpeg_cmd, bar) -> (vspipe rc, ffmpeg rc, vspipe stderr lines, ffmpeg stderr lines)``;
:func:`check_rc` turns failures into :class:`VideoError`/:class:`~vsrife.vspipe.ScriptError` with the failing
program's own last error line. Used by :mod:`vsrife.video` and by the Ray tasks of :mod:`vsrife.distributed`.
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .vspipe import PROGRESS, ScriptError, script_error

__all__ = ["VideoError", "Stopped", "Bar", "pipe", "check_rc", "clock", "partial_path", "install", "remove",
           "encoder_error"]


class VideoError(RuntimeError):
    """The pipeline failed (message: one line, e.g. the encoder's last error line)."""


class Stopped(Exception):
    """SIGINT/SIGTERM arrived; ``signum`` says which, the message says where it stopped."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


def clock(seconds: float) -> str:
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

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` frames so far; ``total`` corrects the expected count (vspipe's ``Frame: n/N``)."""
        if total:
            self.total = total
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
                f"{fps:5.2f} fps  ETA {clock(eta)}")
        sys.stderr.write(("\r" + line + "\033[K") if self._tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.quiet and self._tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


class _Signals:
    """Turns SIGINT/SIGTERM into a recorded signal and a callback (restores the old handlers on exit)."""

    def __init__(self, on_signal: Callable[[int], None] | None) -> None:
        self.on_signal = on_signal
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def __enter__(self) -> _Signals:
        if self.on_signal is not None and threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        if self.on_signal is not None:
            self.on_signal(signum)

    def __exit__(self, *exc: object) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)  # type: ignore[arg-type]


def _reader(stream, sink: list[str],
            on_progress: Callable[[int, int], None] | None = None) -> threading.Thread:
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
                    on_progress(int(m.group(1)), int(m.group(2)))
                elif ln.strip():
                    sink.append(ln)
                    del sink[:-200]
        if buf.strip():
            sink.append(buf.decode(errors="replace"))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGKILL when the process that started it dies (a killed Ray worker leaves none)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def pipe(vspipe_cmd: list[str], ffmpeg_cmd: list[str], bar: Bar, *, handle_signals: bool = True,
         die_with_parent: bool = False) -> tuple[int, int, list[str], list[str]]:
    """Run ``vspipe | ffmpeg`` in their own sessions; return (vspipe rc, ffmpeg rc, vspipe err, ffmpeg err).

    Each child gets its own process group so that a terminal's Ctrl-C reaches only us; on SIGINT/SIGTERM (with
    ``handle_signals``) vspipe is stopped, ffmpeg finishes on end of input, and :class:`Stopped` is raised.
    """
    vs_err: list[str] = []
    ff_err: list[str] = []
    pre = _die_with_parent if die_with_parent and sys.platform.startswith("linux") else None
    vsp = subprocess.Popen(vspipe_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                           preexec_fn=pre)
    ff = subprocess.Popen(ffmpeg_cmd, stdin=vsp.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          start_new_session=True, preexec_fn=pre)
    assert vsp.stdout is not None
    vsp.stdout.close()  # ffmpeg holds the read end; vspipe gets EPIPE if ffmpeg dies
    readers = [_reader(vsp.stderr, vs_err, bar.update), _reader(ff.stderr, ff_err)]

    def stop(_: int = 0) -> None:
        if vsp.poll() is None:
            try:
                os.killpg(vsp.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    with _Signals(stop if handle_signals else None) as sig:
        ff_rc = ff.wait()
        if ff_rc != 0:
            stop()
        vs_rc = vsp.wait()
        for r in readers:
            r.join(timeout=5)
        if sig.signum is not None:
            raise Stopped(sig.signum, "")
    return vs_rc, ff_rc, vs_err, ff_err


_GENERIC = re.compile(r"^(Error initializing output stream|Conversion failed|Error while|Could not write header)")


def encoder_error(lines: list[str], rc: int) -> str:
    """ffmpeg's own last specific error line (its closing generic lines skipped, ``@ 0x...`` addresses dropped)."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    specific = [ln for ln in lines if not _GENERIC.match(ln)] or lines
    return re.sub(r" @ 0x[0-9a-f]+\]", "]", specific[-1]) if specific else f"exit status {rc}"


def check_rc(vs_rc: int, ff_rc: int, vs_err: list[str], ff_err: list[str]) -> None:
    # A script that fails leaves ffmpeg without (enough) input: its error, not ffmpeg's, is the cause. A vspipe
    # that only lost its reader (ffmpeg died first, or we stopped it) is not.
    lost_reader = vs_rc == -signal.SIGTERM or any(re.search(r"fwrite|errno: 32|Broken pipe", ln) for ln in vs_err)
    if vs_rc != 0 and not lost_reader:
        raise ScriptError(script_error("\n".join(vs_err)))
    if ff_rc != 0:
        raise VideoError(f"the encoder failed: {encoder_error(ff_err, ff_rc)}")
    if vs_rc != 0:
        raise ScriptError(script_error("\n".join(vs_err)))


def partial_path(path: Path) -> Path:
    """The temporary name beside ``path`` (hidden, same directory: the final rename is atomic)."""
    return path.with_name(f".{path.stem}.vsrife-partial-{os.getpid()}{path.suffix}")


def install(tmp: Path, dest: Path, overwrite: bool) -> None:
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


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
