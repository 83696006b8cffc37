#!/usr/bin/env python3
"""Where OpenVINO's CPU plugin spends a RIFE forward: per-layer profile of an ONNX file from ``bench/ov_export.py``.

    .cache/bench/venv-ov/bin/python bench/ov_profile.py ONNX [--rounds 5] [--hint f32|bf16] [--top 12]

Runs in the OpenVINO venv of the benchmark (``pip install openvino`` beside vs-mlrt's vsov there; the same
OpenVINO release). Compiles the network for the CPU with vsmlrt's OV_CPU settings (1 stream, pinned threads,
the precision hint) and ``PERF_COUNT``, runs ``--rounds`` forwards on a random input after one warm-up, and prints
the median forward time, the CPU's optimisation capabilities (BF16 listed or not), the precision the plugin
actually ran, and the layers' time grouped by layer type and kernel (``exec_type``), largest first. Writes nothing.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time

import numpy as np
import openvino as ov


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--hint", default="f32", choices=("f32", "bf16"))
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args(argv)
    core = ov.Core()
    cfg = {"NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": 0, "ENABLE_CPU_PINNING": True,
           "INFERENCE_PRECISION_HINT": args.hint, "PERF_COUNT": True}
    compiled = core.compile_model(core.read_model(args.onnx), "CPU", cfg)
    req = compiled.create_infer_request()
    shape = list(compiled.input(0).shape)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    req.infer({0: x})
    times, prof = [], collections.defaultdict(float)
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        req.infer({0: x})
        times.append((time.perf_counter() - t0) * 1e3)
        for p in req.profiling_info:
            prof[(p.node_type, p.exec_type)] += p.real_time.total_seconds() * 1e3 / args.rounds
    total = sum(prof.values())
    print(f"{args.onnx}: input {shape}, hint {args.hint}; CPU capabilities "
          f"{core.get_property('CPU', 'OPTIMIZATION_CAPABILITIES')}; ran in "
          f"{compiled.get_property('INFERENCE_PRECISION_HINT')}")
    print(f"forward: median {statistics.median(times):.1f} ms over {args.rounds} (min {min(times):.1f}); "
          f"layers' sum {total:.1f} ms")
    print("| layer type | kernel | ms per forward | share |")
    print("|---|---|---:|---:|")
    for (node, kind), ms in sorted(prof.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"| {node} | {kind} | {ms:.1f} | {ms / total:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
