"""What fraction of this machine's convolution peak do our networks' convolutions reach?

    python bench/conv_peak.py [--models 4.6,4.26] [--res 720] [--rounds 3]

Interleaved rounds of (a) the machine's peak: the best GFLOP/s of large 3x3 convolutions (channels_last, all
cores) over a few shapes, and (b) one forward of each model (fast path, channels_last, as the filter runs it) under
the torch profiler, whose FLOP counts of ``aten::conv2d`` / ``aten::conv_transpose2d`` divided by their CPU time give
the models' convolution rate. Median over rounds; fp32 and bf16. Random weights: speed does not depend on values.
In fp32 the models use NNPACK's Winograd bodies where the engine would (models.winograd); their rate is counted in
direct-convolution FLOPs, so it can exceed the direct peak.
Prints a Markdown table (docs/README material) and writes nothing.
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

from vsrife import openmp  # noqa: E402
from vsrife.models import create_model, winograd  # noqa: E402

#: (channels, height, width) of the peak probes: the body convolutions of the v4 blocks at 720p are of this kind.
PEAK_SHAPES = ((64, 192, 320), (96, 96, 160), (128, 96, 160), (192, 48, 80))
SIZES = {"540": (576, 960), "720": (768, 1280), "1080": (1088, 1920)}
CONV_OPS = ("aten::conv2d", "aten::conv_transpose2d")
#: NNPACK's Winograd convolution (the engine's choice in fp32 on the CPU): the profiler counts no FLOPs for it, so
#: they are counted here as the direct convolution's (2 * N * Cout * Cin * 9 * H * W): an "effective" rate that can
#: exceed the direct peak.
NNPACK_OP = "aten::_nnpack_spatial_convolution"


def peak(dtype: torch.dtype, reps: int = 5) -> float:
    """Best GFLOP/s of a 3x3 stride-1 convolution over PEAK_SHAPES."""
    best = 0.0
    for c, h, w in PEAK_SHAPES:
        x = torch.randn(1, c, h, w, dtype=dtype).contiguous(memory_format=torch.channels_last)
        wt = torch.randn(c, c, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
        b = torch.randn(c, dtype=dtype)
        F.conv2d(x, wt, b, 1, 1)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            F.conv2d(x, wt, b, 1, 1)
            ts.append(time.perf_counter() - t0)
        best = max(best, 2 * c * c * 9 * h * w / min(ts) / 1e9)
    return best


def model_rate(name: str, dtype: torch.dtype, h: int, w: int) -> tuple[float, float, float]:
    """(convolution GFLOP/s, convolution share of the forward's CPU time, forward ms) of one forward."""
    model = create_model(name).to(dtype=dtype, memory_format=torch.channels_last).eval()
    # as the engine sets it (Engine(winograd=None))
    model.winograd = dtype == torch.float32 and winograd.available() and openmp.short_spin()
    img0, img1 = torch.rand(1, 3, h, w), torch.rand(1, 3, h, w)
    with torch.inference_mode():
        f0 = model.encode(img0) if model.spec.has_encoder else None
        f1 = model.encode(img1) if model.spec.has_encoder else None
        f0 = f0.float() if f0 is not None else None
        f1 = f1.float() if f1 is not None else None
        model(img0, img1, 0.5, f0, f1)
        with torch.profiler.profile(with_flops=True, record_shapes=True) as prof:
            t0 = time.perf_counter()
            model(img0, img1, 0.5, f0, f1)
            wall = time.perf_counter() - t0
    flops = conv_us = 0.0
    for ev in prof.key_averages(group_by_input_shape=True):
        if ev.key in CONV_OPS:
            flops += ev.flops
            conv_us += ev.cpu_time_total
        elif ev.key == NNPACK_OP:
            (n, cin, h_, w_), (cout, _, kh, kw) = ev.input_shapes[0], ev.input_shapes[1]
            flops += 2 * n * cout * cin * kh * kw * h_ * w_ * ev.count
            conv_us += ev.cpu_time_total
    total_us = sum(ev.self_cpu_time_total for ev in prof.key_averages())
    return flops / (conv_us * 1e-6) / 1e9, conv_us / total_us, wall * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="4.6,4.26")
    ap.add_argument("--res", default="720", choices=sorted(SIZES))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--precisions", default="fp32,bf16")
    args = ap.parse_args()
    h, w = SIZES[args.res]
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    precs = [p for p in args.precisions.split(",") if p]
    names = [m for m in args.models.split(",") if m]
    peaks: dict[str, list[float]] = {p: [] for p in precs}
    rates: dict[tuple[str, str], list[tuple[float, float, float]]] = {(m, p): [] for m in names for p in precs}
    total = args.rounds * len(precs) * (1 + len(names))
    done = 0
    for r in range(args.rounds):
        for p in precs:
            peaks[p].append(peak(dtypes[p]))
            done += 1
            print(f"[{done}/{total}] round {r + 1}: {p} peak {peaks[p][-1]:.0f} GFLOP/s", file=sys.stderr)
            for m in names:
                rates[(m, p)].append(model_rate(m, dtypes[p], h, w))
                done += 1
                g, share, ms = rates[(m, p)][-1]
                print(f"[{done}/{total}] round {r + 1}: {m} {p} convs {g:.0f} GFLOP/s, {share:.0%} of the forward, "
                      f"{ms:.0f} ms", file=sys.stderr)
    print(f"Machine: {torch.get_num_threads()} torch threads; torch {torch.__version__}; {w}x{h} (padded {args.res}p), "
          f"median of {args.rounds} interleaved rounds.\n")
    print("| model | precision | forward ms | convolutions GFLOP/s | machine 3x3 peak GFLOP/s | fraction of peak "
          "| convolutions' share of the forward |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for m in names:
        for p in precs:
            g = statistics.median(x[0] for x in rates[(m, p)])
            share = statistics.median(x[1] for x in rates[(m, p)])
            ms = statistics.median(x[2] for x in rates[(m, p)])
            pk = statistics.median(peaks[p])
            print(f"| {m} | {p} | {ms:.0f} | {g:.0f} | {pk:.0f} | {g / pk:.0%} | {share:.0%} |")


if __name__ == "__main__":
    main()
