"""Upper bound for fade handling on the 5/2 fade-through-black cell of ``make quality`` (issue 17).

    python bench/fade_oracle.py

The oracle knows the truth: RIFE 4.0 (plain, ``sc=False, fade=False``) interpolates the *unfaded* frames of each
fade-through-black sequence (``Sequence.unfaded``), and the true fade gain of each output frame is applied to the
result. That is the best any fade handling built on RIFE 4.0's motion can do. Pairs that straddle the hold (shot a
to shot b) keep our own frames. Prints pooled Y-PSNR over the cell's frames for ours (defaults), plain RIFE and the
oracle, at 128x72.
"""

from __future__ import annotations

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
RATIO = Fraction(5, 2)


class _Args:
    device, threads = "cpu", None


def main() -> int:
    seqs = [s for s in ts.build_set(ts.load_shots(*qt.INTERP_SIZE), STEP) if s.name.startswith("fade-black")]
    tot = {k: 0.0 for k in ("ours", "plain RIFE", "oracle")}
    count = 0
    for s in seqs:
        clean_q = [tuple(np.clip(np.rint(p), 0, 255) for p in f) for f in s.unfaded]
        idx, q = ts.source_indices(s, STEP), s.quantised()
        outs = qt.run_methods(ts.to_clip([q[i] for i in idx]), RATIO, "4.0", _Args,
                              {"ours": {}, "plain RIFE": dict(fade=False, sc=False)})
        oc = qt.run_methods(ts.to_clip([clean_q[i] for i in idx]), RATIO, "4.0", _Args,
                            {"plain": dict(fade=False, sc=False)})["plain"]
        for m, i0, i1, k in qt.between(len(q), idx, STEP, RATIO, len(outs["ours"])):
            cut, kind = s.pair_labels(i0, i1)
            if cut or kind != "fade-black":
                continue
            truth = q[k][0]
            x, y = s.unfaded[k][0] - 16, s.frames[k][0] - 16
            gain = float((x * y).sum() / (x * x).sum())          # the true fade law at this frame
            same_shot = (i0 < s.second_shot) == (i1 < s.second_shot)
            oracle = np.rint(16 + gain * (oc[m][0].astype(np.float64) - 16)) if same_shot else outs["ours"][m][0]
            for key, img in (("ours", outs["ours"][m][0]), ("plain RIFE", outs["plain RIFE"][m][0]),
                             ("oracle", oracle)):
                tot[key] += float(np.mean((np.asarray(img, np.float64) - truth) ** 2))
            count += 1
    for key, err in tot.items():
        print(f"{key:12s} {qt.psnr(err / count):.2f} dB over {count} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
