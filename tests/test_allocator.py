"""The CPU engine's malloc settings (vsrife.allocator): large tensors come from the heap and stay there, unless the
user chose a malloc policy. Each case runs in a fresh interpreter (the settings are per process)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vsrife import allocator

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(allocator._glibc() is None, reason="glibc only")

#: glibc's mallinfo2() from Python, for the probes below.
_MALLINFO = """
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
"""

#: Prints (configure()'s result, the bytes glibc newly holds in separately mapped blocks while a 64 MiB tensor and
#: a 64 MiB NumPy array are alive, whether both were still readable after being freed and allocated again).
_PROBE = """
import ctypes
import numpy as np
import torch
from vsrife import allocator

{mallinfo}ok = {configure}
before = libc.mallinfo2().hblkhd
for _ in range(2):
    t = torch.ones(16 * 2**20)
    a = np.ones(64 * 2**20, dtype=np.uint8)
    mapped = libc.mallinfo2().hblkhd - before
    good = bool(t.sum() == 16 * 2**20 and a.sum() == 64 * 2**20)
    del t, a
print(ok, mapped, good)
"""


def _clean_env() -> dict[str, str]:
    """This process's environment without any malloc policy or opt-out."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", allocator.ENV)}


def _probe(configure: bool, env: dict[str, str] | None = None) -> tuple[bool, int, bool]:
    code = _PROBE.format(mallinfo=_MALLINFO, configure="allocator.configure()" if configure else "False")
    full = _clean_env()
    out = subprocess.run([sys.executable, "-c", code], env=full | (env or {}), cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1]), out[2] == "True"


def test_glibc_maps_large_blocks_by_default() -> None:
    ok, mapped, good = _probe(False)
    assert not ok and good
    assert mapped >= 2 * 64 * 2**20


def test_configure_serves_large_blocks_from_the_heap() -> None:
    ok, mapped, good = _probe(True)
    assert ok and good
    assert mapped == 0


@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "131072"}, {"MALLOC_ARENA_MAX": "2"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1048576"}])
def test_a_users_malloc_policy_is_left_alone(env: dict[str, str]) -> None:
    ok, mapped, good = _probe(True, env)
    assert not ok and good
    assert mapped >= 2 * 64 * 2**20


def test_opt_out_leaves_malloc_alone() -> None:
    """VSRIFE_MALLOC_TUNING=0: configure() changes nothing, large blocks are mapped as glibc does by default."""
    ok, mapped, good = _probe(True, {allocator.ENV: "0"})
    assert not ok and good
    assert mapped >= 2 * 64 * 2**20
    assert _probe(True, {allocator.ENV: "1"})[:2] == (True, 0)


def test_opt_out_with_a_bad_value_warns_and_changes_nothing() -> None:
    code = ("import warnings; from vsrife import allocator\n"
            "with warnings.catch_warnings(record=True) as seen:\n    warnings.simplefilter('always')\n"
            "    ok = allocator.configure()\n"
            "print(ok, [str(w.message) for w in seen if w.category is RuntimeWarning])")
    out = subprocess.run([sys.executable, "-c", code], env=_clean_env() | {allocator.ENV: "no"}, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False [\"vsrife: VSRIFE_MALLOC_TUNING='no' is neither 0 nor 1: malloc's settings are left alone\"]"


#: Prints the bytes glibc newly maps by themselves while a thread started after the settings holds an 80 MiB tensor
#: (above the 64 MiB pieces that glibc builds a thread's own arena from).
_THREAD_PROBE = """
import ctypes, threading
import torch
from vsrife import allocator

{mallinfo}{settings}
before = libc.mallinfo2().hblkhd
mapped = []

def work():
    for _ in range(2):
        t = torch.ones(20 * 2**20)
        mapped.append(libc.mallinfo2().hblkhd - before)
        del t

th = threading.Thread(target=work)
th.start()
th.join()
print(max(mapped))
"""


@pytest.mark.parametrize("settings, maps", [
    # only the heap settings: the thread's own arena still maps every block above 64 MiB
    ("libc.mallopt(-4, 0); libc.mallopt(-1, 2**31 - 1)", True),
    ("assert allocator.configure()", False),
])
def test_threads_started_afterwards_share_the_main_heap(settings: str, maps: bool) -> None:
    full = _clean_env()
    probe = _THREAD_PROBE.format(mallinfo=_MALLINFO, settings=settings)
    out = subprocess.run([sys.executable, "-c", probe], env=full, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert (int(out) >= 80 * 2**20) is maps


def test_the_cpu_engine_configures_it() -> None:
    import torch
    import vapoursynth as vs

    from vsrife.color import PlaneFormat
    from vsrife.engine import Engine
    from vsrife.models import create_model

    Engine(create_model("4.6"), fmt=PlaneFormat.from_vs(vs.core.get_video_format(vs.RGBS)), width=64, height=64,
           device=torch.device("cpu"), dtype=torch.float32)
    assert allocator.configured() is not allocator.user_policy()
