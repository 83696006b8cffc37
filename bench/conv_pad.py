"""Would zero-padding the blocks' channels to a multiple of 16 or 32 speed up their convolutions?

    python bench/conv_pad.py [--precision bf16] [--rounds 12]

Times single 3x3 convolutions (channels_last, all cores, oneDNN through torch, the engine's allocator policy) of
the v4.0-4.5 blocks at 720p (padded to 1280x768): the body layers (90, 150 and 240 channels, stride 1) and the
stride-2 input layers, each at its own channel counts and with input and output channels rounded up to a multiple
of 16 and of 32 (zero weights: the same function, more multiplications). Median over interleaved rounds, in ms. Prints a
Markdown table and writes nothing; a lever study for ``docs/performance.md``, not used by the filter.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import vsrife  # noqa: E402,F401  (before torch: sets OpenMP's short spin, see vsrife.openmp)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from vsrife import allocator  # noqa: E402

#: (input channels, output channels, input height, input width, stride) of the 4.0 blocks' layers at 720p.
LAYERS = ((90, 90, 192, 320, 1), (150, 150, 96, 160, 1), (240, 240, 48, 80, 1),
          (45, 90, 384, 640, 2), (75, 150, 192, 320, 2))


def _round_up(c: int, m: int | None) -> int:
    return c if m is None else -(-c // m) * m


def time_convs(shapes: list[tuple[int, int]], h: int, w: int, stride: int, dtype: torch.dtype,
               rounds: int) -> list[float]:
    """Median ms of one ``F.conv2d`` on random data for each (input, output channels) of ``shapes``, timed in
    interleaved rounds (one of each per round), so that the machine's drift falls on all of them alike."""
    args = []
    for cin, cout in shapes:
        x = torch.randn(1, cin, h, w, dtype=dtype).contiguous(memory_format=torch.channels_last)
        wt = torch.randn(cout, cin, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
        args.append((x, wt, torch.randn(cout, dtype=dtype)))
        F.conv2d(*args[-1], stride, 1)
    ts: list[list[float]] = [[] for _ in shapes]
    for _ in range(rounds):
        for i, a in enumerate(args):
            t0 = time.perf_counter()
            F.conv2d(*a, stride, 1)
            ts[i].append(time.perf_counter() - t0)
    return [statistics.median(t) * 1000 for t in ts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--precision", default="bf16", choices=("bf16", "fp32"))
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    allocator.configure()
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    print(f"{args.precision}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, median of "
          f"{args.rounds}\n")
    print("| layer | own channels ms | padded to 16 ms | padded to 32 ms |")
    print("|---|---:|---:|---:|")
    for cin, cout, h, w, s in LAYERS:
        shapes = [(_round_up(cin, m), _round_up(cout, m)) for m in (None, 16, 32)]
        ms = time_convs(shapes, h, w, s, dtype, args.rounds)
        cells = [f"{t:.2f} ({ci}->{co})" for t, (ci, co) in zip(ms, shapes)]
        print(f"| {cin}->{cout} at {h}x{w}, stride {s} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
