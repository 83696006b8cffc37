"""Compare the interpolated frames of 2x outputs (y4m, 8-bit 4:2:0) with ground truth and with each other.

    python bench/y4m_compare.py --truth SRC.y4m OUT_A.y4m [OUT_B.y4m ...]  [--ref OUT_REF.y4m] [--frames K]

The outputs were made from ``src[::2]`` (every other source frame) at 2x, so output frame 2j+1 is the model's
estimate of source frame 2j+1, which we have: the "truth". For every output, prints JSON with
  - ``psnr_truth``: Y-PSNR (dB, peak 255, pooled MSE) of the interpolated frames against the real source frames,
  - and, with ``--ref``, ``psnr_ref`` (Y-PSNR against the reference output's same frames; ``inf`` if equal),
    ``maxabs_ref`` (largest |difference| of Y over those frames) and ``maxabs_ref_uv`` (same for U and V).
Only odd output frames (the interpolated ones) are compared.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np


class Y4M:
    def __init__(self, path: str):
        self.path = path
        self.f = open(path, "rb")
        header = self.f.readline().decode("ascii", "replace").split()
        if not header or header[0] != "YUV4MPEG2":
            raise ValueError(f"{path}: not a y4m stream")
        tags = {t[0]: t[1:] for t in header[1:]}
        self.w, self.h = int(tags["W"]), int(tags["H"])
        chroma = tags.get("C", "420jpeg")
        if not chroma.startswith("420") or chroma.endswith(("p10", "p12", "p16")):
            raise ValueError(f"{path}: only 8-bit 4:2:0 y4m is supported, got C{chroma}")
        self.cw, self.ch = (self.w + 1) // 2, (self.h + 1) // 2
        self.frame_bytes = self.w * self.h + 2 * self.cw * self.ch

    def frames(self):
        while True:
            line = self.f.readline()
            if not line:
                return
            if not line.startswith(b"FRAME"):
                raise ValueError(f"{self.path}: bad frame marker {line[:20]!r}")
            buf = self.f.read(self.frame_bytes)
            if len(buf) < self.frame_bytes:
                return
            a = np.frombuffer(buf, dtype=np.uint8)
            ys = self.w * self.h
            cs = self.cw * self.ch
            yield (a[:ys].reshape(self.h, self.w),
                   a[ys:ys + cs].reshape(self.ch, self.cw),
                   a[ys + cs:].reshape(self.ch, self.cw))


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def psnr_of(mses: list[float]) -> float:
    """PSNR (peak 255) of the pooled mean squared error of several frames."""
    m = float(np.mean(mses))
    return math.inf if m == 0.0 else 10.0 * math.log10(255.0 ** 2 / m)


def load(path: str, limit: int | None = None) -> list:
    out = []
    for i, fr in enumerate(Y4M(path).frames()):
        if limit is not None and i >= limit:
            break
        out.append(fr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", required=True, help="y4m of the full-rate source")
    ap.add_argument("--ref", help="y4m of the reference output (e.g. the fp32 run)")
    ap.add_argument("--frames", type=int, default=None, help="compare at most this many output frames")
    ap.add_argument("outputs", nargs="+")
    args = ap.parse_args(argv)

    truth = load(args.truth)
    ref = load(args.ref, args.frames) if args.ref else None
    results = {}
    for path in args.outputs:
        out = load(path, args.frames)
        idx = [i for i in range(1, len(out), 2) if i < len(truth) and (ref is None or i < len(ref))]
        if not idx:
            results[path] = {"error": "no interpolated frames to compare"}
            continue
        if out[idx[0]][0].shape != truth[idx[0]][0].shape:
            results[path] = {"error": f"size mismatch {out[idx[0]][0].shape} vs {truth[idx[0]][0].shape}"}
            continue
        r = {"frames": len(idx), "psnr_truth": psnr_of([mse(out[i][0], truth[i][0]) for i in idx])}
        if ref is not None:
            mses = [mse(out[i][0], ref[i][0]) for i in idx]
            r["psnr_ref"] = psnr_of(mses)
            r["psnr_ref_min"] = psnr_of([max(mses)])
            r["maxabs_ref"] = int(max(int(np.max(np.abs(out[i][0].astype(np.int16) - ref[i][0]))) for i in idx))
            r["maxabs_ref_uv"] = int(max(int(np.max(np.abs(out[i][p].astype(np.int16) - ref[i][p])))
                                         for i in idx for p in (1, 2)))
        results[path] = r
    json.dump(results, sys.stdout, indent=1, default=lambda x: None)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
