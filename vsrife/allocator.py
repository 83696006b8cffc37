"""glibc malloc settings for the CPU engine: large tensors are reused from the heap instead of mapped afresh.

A forward of a RIFE network on the CPU allocates and frees hundreds of megabytes of activations (3.6 at 720p:
dozens of 42 MB tensors). glibc serves every allocation above its mmap threshold (at most 32 MB, adjusted at run
time) with a fresh ``mmap`` and returns it with ``munmap`` when freed, and it gives freed heap memory back to the
kernel above its trim threshold. Every such page is then faulted in and zeroed again by the kernel on the next
forward: measured on 2 cores at 720p, 3.6 took 180,000-230,000 page faults per interpolated frame, 4.26 70,000
and 4.6 15,000-24,000.

:func:`configure` (called by the engine when it runs on the CPU) sets, for the whole process, ``M_MMAP_MAX = 0``
(no allocation is mapped by itself: large ones come from the heap) and ``M_TRIM_THRESHOLD`` to 2 GiB (freed memory
stays in the heap for the next forward). Measured in-process (VapourSynth, bigbuckbunny 720p, interleaved runs):

* 3.6: page faults 226,000 -> 3,600 per frame, 4-12 % faster, peak RSS 100 MB lower;
* 4.6: faults 24,000 -> 1,500, 1-8 % faster, peak RSS 80-100 MB lower;
* 4.26: faults 70,000 -> 35,000, speed within the noise, peak RSS up to 150 MB higher.

The heap keeps its high-water mark until the process ends.

It also sets ``M_ARENA_MAX = 1``: threads that first allocate afterwards (the engine's own thread, which does all
torch work, and usually VapourSynth's workers) share the main heap instead of each getting an arena of their own.
glibc builds those other arenas from 64 MB pieces: an allocation larger than that is mapped afresh there whatever
``M_MMAP_MAX`` says, and a piece is unmapped as soon as it is free. The engine's thread had its own arena, and a
forward of 4.26 at 720p then took about 17,000 more page faults per frame than on the main heap. Whole ``vspipe``
runs (bigbuckbunny 720p doubled, 60 output frames): 4.26 bf16 740,000 -> 237,000 faults per run, 4 % faster, peak
RSS 50 MB lower; 4.6 fp32 320,000-500,000 -> 220,000-245,000 faults, peak RSS unchanged. The engine's caches live
outside the heap altogether (:func:`mapped`): see ``vsrife.engine``.

**Process-wide side effect.** ``mallopt`` changes glibc's allocator for the whole process, for every library and
thread in it (VapourSynth, its plugins, NumPy, ...), from the first CPU engine until the process ends; the heap keeps
its high-water mark. ``VSRIFE_MALLOC_TUNING=0`` turns it off (nothing is changed; the engine works the same, with
more page faults and a higher peak RSS: see the numbers above); values other than ``0`` and ``1`` are refused with a
:class:`RuntimeWarning` and nothing is changed. Users who set their own malloc policy keep it as well: nothing is
changed when any ``MALLOC_*_`` variable is set or ``GLIBC_TUNABLES`` names a ``glibc.malloc`` tunable
(``MALLOC_TRIM_THRESHOLD_=131072`` restores glibc's defaults' behaviour, for example). Other C libraries are left
alone.

This module does not import torch.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import sys
import threading
import warnings

__all__ = ["ENV", "TRIM_THRESHOLD", "configure", "configured", "mapped", "opted_out", "user_policy"]

#: Environment variable: "0" leaves malloc's settings alone ("1" or unset: set them as described above).
ENV = "VSRIFE_MALLOC_TUNING"

#: mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
#: Freed memory above this at the top of the heap goes back to the kernel (mallopt takes an int).
TRIM_THRESHOLD = 2**31 - 1
#: The environment variables glibc reads for its malloc policy (the old names; GLIBC_TUNABLES is checked apart).
_USER_VARS = ("MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
              "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST")

_lock = threading.Lock()
_done: bool | None = None  # None: not tried yet; else whether the settings were applied


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # only glibc has it (musl does not)
    except (OSError, AttributeError):
        return None
    return libc


def user_policy() -> bool:
    """Whether the user chose a malloc policy through glibc's environment variables."""
    if any(v in os.environ for v in _USER_VARS):
        return True
    return "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")


def opted_out() -> bool:
    """Whether ``VSRIFE_MALLOC_TUNING`` forbids the settings (``0``, or a value other than ``0``/``1``, with a
    warning)."""
    value = os.environ.get(ENV, "1").strip()
    if value not in ("0", "1"):
        warnings.warn(f"vsrife: {ENV}={value!r} is neither 0 nor 1: malloc's settings are left alone",
                      RuntimeWarning, stacklevel=3)
        return True
    return value == "0"


def configure() -> bool:
    """Apply the settings to the whole process, once (see the module docstring), unless the user chose a malloc
    policy or set ``VSRIFE_MALLOC_TUNING=0``. Returns whether they are in effect."""
    global _done
    with _lock:
        if _done is None:
            libc = None if user_policy() or opted_out() else _glibc()
            _done = (libc is not None and libc.mallopt(_M_MMAP_MAX, 0) == 1
                     and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
                     and libc.mallopt(_M_ARENA_MAX, 1) == 1)
        return _done


def mapped(nbytes: int) -> mmap.mmap:
    """Private anonymous memory of ``nbytes``, mapped by itself (zero-filled; unmapped when the object goes)."""
    if hasattr(mmap, "MAP_PRIVATE"):
        return mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return mmap.mmap(-1, nbytes)  # Windows: an anonymous mapping of the paging file


def configured() -> bool:
    """Whether :func:`configure` applied the settings in this process."""
    return bool(_done)

