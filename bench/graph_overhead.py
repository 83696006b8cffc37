"""VapourSynth-side overhead per output frame of ``vsrife.rife`` (the network replaced by a copy).

    python bench/graph_overhead.py [--frames N] [--dedup] [--factor NUM/DEN] [--no-fade]

The engine's ``interpolate`` is replaced by a function that returns the left frame's planes, so what is timed is
graph building, frame requests, metrics and the Python callbacks: wall time per output frame over every output
frame of a 64x48 YUV420P8 clip, requested in order with ``clip.frames()`` (best of three).
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import vapoursynth as vs  # noqa: E402

from vsrife import engine as _engine  # noqa: E402

core = vs.core


def _copy_only(self, a, planes_a, props_a, b, planes_b, props_b, t):  # noqa: ANN001 - Engine.interpolate's signature
    return [np.array(p, copy=True) for p in planes_a]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000, help="source frames")
    ap.add_argument("--dedup", action="store_true")
    ap.add_argument("--factor", default="2/1")
    ap.add_argument("--no-fade", action="store_true", help="fade=False (the graph as before the fade handling)")
    args = ap.parse_args(argv)
    _engine.Engine.interpolate = _copy_only
    import vsrife

    ratio = Fraction(args.factor)
    real = core.bs.VideoSource(str(REPO / ".cache" / "samples" / "bigbuckbunny.mp4"))
    real = core.resize.Bicubic(real, 64, 48, format=vs.YUV420P8)
    frames = [real.get_frame(i).copy() for i in range(min(48, real.num_frames))]
    blank = core.std.BlankClip(format=vs.YUV420P8, width=64, height=48, length=args.frames, fpsnum=24, fpsden=1)

    def _fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        return frames[n % len(frames)]

    noise = core.std.ModifyFrame(blank, blank, _fill)  # real pictures (a cut every 48 frames)
    t0 = time.perf_counter()
    out = vsrife.rife(noise, model="4.0", factor_num=ratio.numerator, factor_den=ratio.denominator,
                      dedup=args.dedup, device="cpu", auto_download=True, **({"fade": False} if args.no_fade else {}))
    build = time.perf_counter() - t0
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _f in out.frames():
            pass
        best = min(best, time.perf_counter() - t0)
    print(f"{out.num_frames} output frames, dedup={args.dedup}, factor {ratio}: build {build * 1e3:.1f} ms, "
          f"{best / out.num_frames * 1e6:.0f} us per output frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
