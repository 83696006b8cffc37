"""Upper bound for fade handling on the 5/2 fade-through-black cell of ``make quality`` (issue 17).

    python bench/fade_oracle.py

The oracle knows the truth: RIFE 4.0 (plain, ``sc=False, fade=False``) interpolates the *unfaded* frames of each
fade-through-black sequence, and the true fade gain of each output frame is applied to the result. That is the best
any fade handling built on RIFE 4.0's motion can do. Pairs that straddle the hold (shot a to shot b) keep our own
frames. Prints pooled Y-PSNR over the cell's frames for ours (defaults), plain RIFE and the oracle, at 128x72.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path

BENCH = Path(__file__).resolve().parent
for p in (str(BENCH.parent), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402

import quality_transitions as qt  # noqa: E402
import transition_set as ts  # noqa: E402

STEP = 5
#: sequence -> (shot a, shot b, fade length in source frames), as ``transition_set.build_set`` makes them.
SPEC = {"fade-black-6": ("bbb", "car", 6), "fade-black-10-eased": ("bbb", "car", 10), "fade-black-4": ("bbb", "car", 4),
        "fade-black-car-6": ("car-crop", "bbb-crop", 6), "fade-black-pan-6": ("pan-bbb", "pan-car", 6),
        "fade-black-pan-10-eased": ("pan-car", "pan-bbb", 10)}


class _Args:
    device, threads = "cpu", None


def main() -> int:
    shots = ts.load_shots(*qt.INTERP_SIZE)
    seqs = {s.name: s for s in ts.build_set(shots, STEP)}
    seg, hold = 8 * STEP, STEP
    tot = {k: 0.0 for k in ("ours", "plain RIFE", "oracle")}
    count = 0
    for name, (an, bn, n) in SPEC.items():
        s, n = seqs[name], n * STEP
        clean = shots[an][: seg + n + hold] + shots[bn][: n + seg]
        part = [0] * (seg + n + hold) + [1] * (n + seg)
        clean_q = [tuple(np.clip(np.rint(p), 0, 255) for p in f) for f in clean]
        idx, q = ts.source_indices(s, STEP), s.quantised()
        ratio = Fraction(5, 2)
        outs = qt.run_methods(ts.to_clip([q[i] for i in idx]), ratio, "4.0", _Args,
                              {"ours": {}, "plain RIFE": dict(fade=False, sc=False)})
        oc = qt.run_methods(ts.to_clip([clean_q[i] for i in idx]), ratio, "4.0", _Args,
                            {"plain": dict(fade=False, sc=False)})["plain"]
        for m in range(len(outs["ours"])):
            tau = Fraction(m) / ratio
            full = tau * STEP
            if tau.denominator == 1 or full.denominator != 1 or full >= len(q) or math.floor(tau) + 1 >= len(idx):
                continue
            i0, i1, k = idx[math.floor(tau)], idx[math.floor(tau) + 1], int(full)
            cut, kind = s.pair_labels(i0, i1)
            if cut or kind != "fade-black":
                continue
            truth = q[k][0]
            x, y = clean[k][0] - 16, s.frames[k][0] - 16
            gain = float((x * y).sum() / (x * x).sum())          # the true fade law at this frame
            oracle = np.rint(16 + gain * (oc[m][0].astype(np.float64) - 16)) if part[i0] == part[i1] \
                else outs["ours"][m][0]
            for key, img in (("ours", outs["ours"][m][0]), ("plain RIFE", outs["plain RIFE"][m][0]),
                             ("oracle", oracle)):
                tot[key] += float(np.mean((np.asarray(img, np.float64) - truth) ** 2))
            count += 1
    for key, err in tot.items():
        print(f"{key:12s} {qt.psnr(err / count):.2f} dB over {count} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
