"""Safe file handling in the cache: temporaries beside their target (removed on any failure, also Ctrl-C) and an
inter-process lock per target, so concurrent downloads of one model end with a single valid file.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
try:  # Windows
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

from .transport import say

__all__ = ["temp_path", "temp_dir", "remove_stale_temps", "file_lock"]


@contextlib.contextmanager
def temp_path(target: Path) -> Iterator[Path]:
    """A new empty file beside ``target`` (``.<name>.*.part``), removed when the block ends."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def temp_dir(target: Path) -> Iterator[Path]:
    """A new directory beside ``target`` (``.<name>.*.partdir``), removed with its contents when the block ends."""
    path = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partdir"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale_temps(target: Path) -> None:
    """Remove temporaries left by a killed process (only call while holding the lock of ``target``)."""
    prefix = glob.escape(f".{target.name}.")
    for p in target.parent.glob(prefix + "*.part"):
        p.unlink(missing_ok=True)
    for p in target.parent.glob(prefix + "*.partdir"):
        shutil.rmtree(p, ignore_errors=True)


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def file_lock(target: Path, progress: bool) -> Iterator[bool]:
    """Hold an exclusive inter-process lock for ``target``; yields whether locking worked."""
    with open(_lock_path(target), "a+b") as fh:
        locked = False
        if fcntl is not None:
            try:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    say(progress, f"waiting for another process downloading {target.name} ...")
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                locked = True
            except OSError:  # e.g. a file system without locks: go on unlocked
                locked = False
        elif msvcrt is not None:  # pragma: no cover - Windows
            told = False
            while not locked:
                try:
                    fh.seek(0)
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                    locked = True
                except OSError:
                    if not told:
                        say(progress, f"waiting for another process downloading {target.name} ...")
                        told = True
                    time.sleep(0.2)
        try:
            yield locked
        finally:
            if locked and fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            elif locked and msvcrt is not None:  # pragma: no cover - Windows
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
