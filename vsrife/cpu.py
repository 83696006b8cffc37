"""What the CPU does natively, as far as the precision default needs to know (read once from ``/proc/cpuinfo``).

Only x86 flags are read (Linux): ``avx512_bf16`` / ``amx_bf16`` mean bf16 convolutions run in hardware, where bf16 is
about 1.5x as fast as fp32 for these networks; without them torch emulates bf16 and it is several times *slower* than
fp32. Elsewhere (other systems, ARM) nothing is assumed: no native bf16.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["REDUCED_PRECISION_FLAGS", "read_flags", "cpu_flags", "reduced_precision_flags", "native_bf16"]

#: The flags of native reduced-precision arithmetic that matter here (bench reports name them).
REDUCED_PRECISION_FLAGS = ("avx512_bf16", "amx_bf16", "avx512_fp16")
_BF16 = frozenset(("avx512_bf16", "amx_bf16"))


def read_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The ``flags`` of the first CPU in a ``/proc/cpuinfo``-style file (empty where there is none)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """This machine's CPU flags (:func:`read_flags` of ``/proc/cpuinfo``, read once)."""
    return read_flags()


def reduced_precision_flags(flags: frozenset[str] | None = None) -> list[str]:
    """Which of :data:`REDUCED_PRECISION_FLAGS` the CPU has (``flags``; None: this machine's), in that order."""
    have = cpu_flags() if flags is None else flags
    return [f for f in REDUCED_PRECISION_FLAGS if f in have]


def native_bf16(flags: frozenset[str] | None = None) -> bool:
    """True when bf16 arithmetic runs in hardware (AVX-512 BF16 or AMX) on the CPU with ``flags`` (None: this one)."""
    return bool(_BF16 & (cpu_flags() if flags is None else flags))
