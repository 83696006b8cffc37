"""Would zero-padding the blocks' narrow widths to a multiple of 16 or 32 speed up their convolutions?

    python bench/conv_pad.py [--precision bf16] [--rounds 20]

Most v4 widths are multiples of 16 (192, 128, 96, 64, 48 and their halves from 64 down, as conv0 makes them); the
exceptions are HD v3.6 (90 channels, halves 45), the 24-channel halves of the 48-wide last blocks (4.12-4.17 lite,
4.20-4.23) and 4.25.lite's 24-wide last block (halves 12). This times those layers at 720p (the frame padded as the
engine pads it) as single 3x3 convolutions (channels_last, all cores, oneDNN through torch, the engine's allocator
policy), at their own channel counts and with the widths rounded up to a multiple of 16 and of 32 (zero weights: the
same function, more multiplications; a block's first layer keeps its input channels, which are the data). Median
over interleaved rounds, in ms. Prints a Markdown table and writes nothing; a lever study for
``docs/performance.md``, not used by the filter.
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

#: (which layer, input channels, output channels, input height, input width, stride, pad the input channels too)
LAYERS = (("3.6 body, block 2 (1/4)", 90, 90, 184, 320, 1, True),
          ("3.6 body, block 1 (1/8)", 90, 90, 92, 160, 1, True),
          ("3.6 conv0 second layer, block 2", 45, 90, 368, 640, 2, True),
          ("4.20-4.23 last block, first layer (28 input channels)", 28, 24, 768, 1280, 2, False),
          ("4.20-4.23 last block, conv0 second layer", 24, 48, 384, 640, 2, True),
          ("4.25.lite last block body", 24, 24, 192, 320, 1, True),
          ("4.25.lite last block, conv0 second layer", 12, 24, 384, 640, 2, True))


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
    for label, cin, cout, h, w, s, pad_in in LAYERS:
        shapes = [(_round_up(cin, m) if pad_in else cin, _round_up(cout, m)) for m in (None, 16, 32)]
        ms = time_convs(shapes, h, w, s, dtype, args.rounds)
        cells = [f"{t:.2f} ({ci}->{co})" for t, (ci, co) in zip(ms, shapes)]
        print(f"| {label}: {cin}->{cout} at {h}x{w}, stride {s} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
