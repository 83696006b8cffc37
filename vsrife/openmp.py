"""How long torch's OpenMP threads spin after each operation: set once, before torch is first imported.

torch's CPU operations run on OpenMP (GNU libgomp in the PyPI wheels). After each parallel operation libgomp's
worker threads busy-wait for the next one: by default 300,000 pause loops, several milliseconds on current CPUs. Our
Winograd convolutions (:mod:`vsrife.models.winograd`) run on NNPACK's own thread pool, and an activation between
two of them wakes the OpenMP workers, which then spin on the same cores for the whole next convolution: measured on
2 cores, a 4.6 body ran 10-40 % slower than oneDNN's direct convolutions instead of 1.3-1.7x faster.

libgomp reads ``GOMP_SPINCOUNT`` once, when torch loads it. So ``import vsrife`` sets ``GOMP_SPINCOUNT=20000``
(about 0.3 ms) when torch is not loaded yet and the user set neither ``GOMP_SPINCOUNT`` nor ``OMP_WAIT_POLICY``;
oneDNN's speed did not change measurably with it. :func:`short_spin` tells the engine whether the Winograd path
pays in this process; when it does not (torch was imported first with the default), the engine keeps oneDNN.

**Process-wide side effect.** The variable is set in ``os.environ``, so it applies to every OpenMP parallel region
of the process (torch, and any other library on libgomp loaded afterwards) and is inherited by child processes.
``VSRIFE_OMP_SPIN=0`` (set before ``import vsrife``) turns it off: nothing is set, and the engine's default is then
oneDNN's direct convolutions (unless the user's own ``GOMP_SPINCOUNT``/``OMP_WAIT_POLICY`` make the spin short).
Other values than ``0`` and ``1`` are refused with a :class:`RuntimeWarning` and nothing is set.

This module does not import torch.
"""
from __future__ import annotations

import os
import sys
import warnings

__all__ = ["ENV", "SPIN_COUNT", "configure", "short_spin"]

#: Environment variable: "0" leaves OpenMP's spin alone ("1" or unset: set it as described above).
ENV = "VSRIFE_OMP_SPIN"

#: The spin count we set (libgomp's unit: pause loops).
SPIN_COUNT = 20000
#: Spin counts up to this keep NNPACK's convolutions free of spinning OpenMP workers (measured: 2000 and 20000
#: both; the default 300000 does not).
_SHORT_ENOUGH = 100_000

#: What libgomp read, as far as we can know: (torch was loaded before us, GOMP_SPINCOUNT, OMP_WAIT_POLICY).
_read: tuple[bool, str | None, str | None] | None = None


def _opted_out() -> bool:
    """Whether ``VSRIFE_OMP_SPIN`` forbids the setting (``0``, or a value other than ``0``/``1``, with a warning)."""
    value = os.environ.get(ENV, "1").strip()
    if value not in ("0", "1"):
        warnings.warn(f"vsrife: {ENV}={value!r} is neither 0 nor 1: GOMP_SPINCOUNT is left alone", RuntimeWarning,
                      stacklevel=3)
        return True
    return value == "0"


def configure() -> None:
    """Set ``GOMP_SPINCOUNT`` in ``os.environ`` (process-wide) if torch is not loaded, the user left OpenMP's wait
    policy alone and ``VSRIFE_OMP_SPIN`` is not ``0``. Idempotent: only the first call in a process acts."""
    global _read
    if _read is not None:
        return
    torch_first = "torch" in sys.modules
    spin, policy = os.environ.get("GOMP_SPINCOUNT"), os.environ.get("OMP_WAIT_POLICY")
    if not torch_first and spin is None and policy is None and not _opted_out():
        spin = os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    _read = (torch_first, spin, policy)


def short_spin() -> bool:
    """Whether OpenMP workers in this process stop spinning within about a millisecond.

    Known when vsrife was imported before torch (the settings then were the ones libgomp read); when torch came
    first, the settings visible now are taken as the ones it read.
    """
    configure()
    assert _read is not None
    torch_first, spin, policy = _read
    if torch_first:
        spin, policy = os.environ.get("GOMP_SPINCOUNT"), os.environ.get("OMP_WAIT_POLICY")
    if policy is not None and policy.strip().lower() == "passive":
        return True
    try:
        return spin is not None and int(spin.strip()) <= _SHORT_ENOUGH
    except ValueError:
        return False
