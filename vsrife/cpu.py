"""What the CPU does natively, as far as the precision default needs to know (read once from ``/proc/cpuinfo``).

Only x86 flags are read (Linux): ``avx512_bf16`` / ``amx_bf16`` mean bf16 convolutions run in hardware, where bf16 is
about 1.5x as fast as fp32 for these networks; without them torch emulates bf16 and it is several times *slower* than
fp32. Elsewhere (other systems, ARM) nothing is assumed: no native bf16.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["REDUCED_PRECISION_FLAGS", "cpu_flags", "reduced_precision_flags", "native_bf16"]

#: The flags of native reduced-precision arithmetic that matter here (bench reports name them).
REDUCED_PRECISION_FLAGS = ("avx512_bf16", "amx_bf16", "avx512_fp16")
_BF16 = frozenset(("avx512_bf16", "amx_bf16"))


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The ``flags`` of the first CPU in ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def reduced_precision_flags() -> list[str]:
    """Which of :data:`REDUCED_PRECISION_FLAGS` this CPU has, in that order."""
    have = cpu_flags()
    return [f for f in REDUCED_PRECISION_FLAGS if f in have]


def native_bf16() -> bool:
    """True when bf16 arithmetic runs in hardware on this CPU (AVX-512 BF16 or AMX)."""
    return bool(_BF16 & cpu_flags())
