"""Transitions benchmark: cut decisions and Y-PSNR through fades, dissolves, flashes and a 30 s montage.

    python bench/quality_transitions.py [--quick] [--no-docs] [--threads N]

Sets (``bench/transition_set.py``, ``bench/montage.py``): real footage (bigbuckbunny, carphone: whole picture, crops,
slow camera pans over real frames, darkened) joined by hard cuts (different shots, similar framings of one shot,
dark-to-dark), fades through black and white (linear and eased, 4-10 source frames each way), cross-dissolves,
flashes (1-2 near-white frames), a slow exposure change and a very dark passage, built at the full rate. The filter
gets every 2nd full-rate frame for 2x and every 5th for 5/2, so every output frame has its true picture. Decisions
are measured at 256x144, interpolation at 128x72 (the strip picture at 256x144).

Decisions come from the filter's own metrics and rules (``vsrife.metrics``, ``vsrife.transitions``): false cuts
and missed cuts per kind, with the historic rule (``VsrifeDiff > 0.3``) beside them. Y-PSNR (pooled MSE, 8 bit) of
the interpolated frames per kind of their pair, for: ours at defaults, ours with ``fade=False``, plain RIFE
(``sc=False, fade=False``), a plain blend of the two neighbours, and mvtools ``FlowFPS``. Models: 4.0 (2x, 5/2) and
3.6 (2x) with their real weights; 4.26 with random weights only shows that the fade path runs and that frames
outside transitions are bit-identical with and without it (a PSNR of random weights means nothing).

Targets: 0 false cuts in fades/dissolves/flashes, >= 99 % of hard cuts caught; inside fades through black and
white ours >= 1 dB above the better of blend and plain RIFE; dissolves >= plain RIFE - 0.1 dB; outside
transitions bit-identical to ``fade=False``. Writes its section of ``docs/quality.md`` and
``docs/images/fade_strip.png``; exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for p in (str(REPO), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import vapoursynth as vs  # noqa: E402

import transition_set as ts  # noqa: E402
from montage import STEP as MONTAGE_STEP, build_montage  # noqa: E402
from quality_png import grid_png  # noqa: E402
from vsrife.metrics import PairMetrics, pair_metrics  # noqa: E402
from vsrife.transitions import is_cut, is_fade  # noqa: E402

core = vs.core
DOCS = REPO / "docs" / "quality.md"
BEGIN, END = "<!-- transitions:begin -->", "<!-- transitions:end -->"
FADES = ("fade-black", "fade-white")
TRANSITIONS = ("fade-black", "fade-white", "dissolve", "flash", "exposure")
DECIDE_SIZE = (256, 144)     # decisions (metrics only: cheap)
INTERP_SIZE = (128, 72)      # interpolation runs (RIFE on 2 CPU cores)
METHODS = {"default": {}, "fade=False": dict(fade=False), "plain RIFE": dict(fade=False, sc=False)}


def psnr(mse: float) -> float:
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


# ---- decisions ---------------------------------------------------------------------------------------------

def decisions(seqs: list[ts.Sequence], step: int) -> dict:
    """Per kind: pairs, false cuts (ours / historic rule), fade-path pairs; per cut kind: caught / total."""
    rows: dict[str, dict] = {}
    for s in seqs:
        idx = ts.source_indices(s, step)
        q = s.quantised()
        m = pair_metrics(ts.to_clip([q[i] for i in idx]))
        pm = [PairMetrics.of(m.get_frame(j)) for j in range(len(idx))]
        for j in range(len(idx) - 1):
            cut, kind = s.pair_labels(idx[j], idx[j + 1])
            ours, old = is_cut(pm[j], pm[j + 1].blocks, 0.3), pm[j].diff > 0.3
            key = f"cut: {s.cut_kind(idx[j], idx[j + 1])}" if cut else kind
            r = rows.setdefault(key, dict(pairs=0, ours=0, old=0, fade=0))
            r["pairs"] += 1
            r["ours"] += ours if not cut else (not ours)       # false cuts, or missed cuts
            r["old"] += old if not cut else (not old)
            r["fade"] += bool(is_fade(pm[j].blocks, pm[j + 1].blocks)) and not ours
    return rows


# ---- interpolation ------------------------------------------------------------------------------------------

def run_methods(src: vs.VideoNode, ratio: Fraction, model: str, args, methods: dict, model_path=None) -> dict:
    import vsrife

    out = {}
    for name, kw in methods.items():
        extra = dict(model_path=str(model_path)) if model_path else dict(model=model, auto_download=True)
        c = vsrife.rife(src, factor_num=ratio.numerator, factor_den=ratio.denominator, device=args.device,
                        num_threads=args.threads, **extra, **kw)
        out[name] = [(np.array(f[0], copy=True), f.props["VsrifeMode"]) for f in c.frames()]
    return out


def blend(src_y: list[np.ndarray], ratio: Fraction, n_out: int) -> list[np.ndarray]:
    out = []
    for n in range(n_out):
        tau = Fraction(n) / ratio
        a = min(math.floor(tau), len(src_y) - 1)
        t = float(tau - a)
        out.append(np.rint((1 - t) * src_y[a] + t * src_y[min(a + 1, len(src_y) - 1)]))
    return out


def mvtools(src: vs.VideoNode, ratio: Fraction, n_out: int) -> list[np.ndarray]:
    sup = core.mv.Super(src, pel=2, sharp=2, rfilter=4)
    bv = core.mv.Analyse(sup, isb=True, blksize=16, overlap=8)
    fv = core.mv.Analyse(sup, isb=False, blksize=16, overlap=8)
    fps = Fraction(src.fps.numerator, src.fps.denominator) * ratio
    c = core.mv.FlowFPS(src, sup, bv, fv, num=fps.numerator, den=fps.denominator)
    return [np.array(c.get_frame(min(n, c.num_frames - 1))[0], copy=True) for n in range(n_out)]


def between(n_full: int, idx: list[int], step: int, ratio: Fraction, n_out: int) -> Iterator[tuple[int, int, int, int]]:
    """(output index, full-rate indices of its pair's two source frames, full-rate index of its true frame) for every
    output frame that lies strictly between two source frames and has a true frame among the ``n_full`` full-rate
    frames (``idx``: the source frames' full-rate indices, ``step`` apart)."""
    for n in range(n_out):
        tau = Fraction(n) / ratio
        full = tau * step
        if tau.denominator == 1 or full.denominator != 1 or full >= n_full or math.floor(tau) + 1 >= len(idx):
            continue
        yield n, idx[math.floor(tau)], idx[math.floor(tau) + 1], int(full)


def evaluate(seqs: list[ts.Sequence], step: int, ratio: Fraction, model: str, args, methods: dict,
             extras: bool = True, model_path=None) -> dict:
    """Per method and kind: pooled MSE sums and counts; modes of ours; outside-transition identity."""
    acc: dict[str, dict[str, list[float]]] = {}
    modes: dict[str, dict[str, int]] = {}
    identical, outside = 0, 0
    for s in seqs:
        idx = ts.source_indices(s, step)
        q = s.quantised()
        src = ts.to_clip([q[i] for i in idx])
        outs = run_methods(src, ratio, model, args, methods, model_path)
        n_out = len(next(iter(outs.values())))
        ys = {k: [y for y, _ in v] for k, v in outs.items()}
        if extras:
            ys["blend"] = blend([q[i][0] for i in idx], ratio, n_out)
            ys["mvtools FlowFPS"] = mvtools(src, ratio, n_out)
        for n, i0, i1, k in between(len(q), idx, step, ratio, n_out):
            cut, kind = s.pair_labels(i0, i1)
            if cut:
                continue
            truth = q[k][0]
            for k, y in ys.items():
                err = float(np.mean((y[n].astype(np.float64) - truth) ** 2))
                acc.setdefault(k, {}).setdefault(kind, []).append(err)
            mode = outs["default"][n][1]
            modes.setdefault(kind, {}).setdefault(mode, 0)
            modes[kind][mode] += 1
            if kind == "shot" and "fade=False" in ys:
                outside += 1
                identical += bool(np.array_equal(ys["default"][n], ys["fade=False"][n]))
    return dict(acc=acc, modes=modes, identical=identical, outside=outside)


def random_weights(name: str) -> Path:
    """A seeded random-weight file of ``name`` (a v4.7+ model) under .cache/bench-weights."""
    import torch

    from vsrife.models import create_model

    path = REPO / ".cache" / "bench-weights" / f"flownet_v{name}.pkl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save({f"module.{k}": v for k, v in create_model(name).state_dict().items()}, path)
    return path


# ---- montage, picture, docs ---------------------------------------------------------------------------------

def montage_dups(seq: ts.Sequence, true_dups: set[int]) -> dict:
    from vsrife.filter import DEFAULT_DEDUP_THRESHOLD

    idx = ts.source_indices(seq, MONTAGE_STEP)
    q = seq.quantised()
    m = pair_metrics(ts.to_clip([q[i] for i in idx]))
    found = {j + 1 for j in range(len(idx) - 1) if PairMetrics.of(m.get_frame(j)).block <= DEFAULT_DEDUP_THRESHOLD}
    return dict(true=len(true_dups), found=len(found & true_dups), false=len(found - true_dups))


def strip(seqs: list[ts.Sequence], args) -> None:
    import transitions_report as rep

    s = next(x for x in seqs if x.name == "fade-white-pan-6")
    idx = ts.source_indices(s, 2)
    q = s.quantised()
    outs = run_methods(ts.to_clip([q[i] for i in idx]), Fraction(2), "4.0", args,
                       {"ours": {}, "fade=False": dict(fade=False)})
    frames = [19, 21, 23, 25, 31, 33]
    rows = [("true", [q[n][0] for n in frames], [f"n={n}" for n in frames])]
    cols = {k: [v[n][0] for n in frames] for k, v in outs.items()}
    cols["blend"] = [blend([q[i][0] for i in idx], Fraction(2), 2 * len(idx))[n] for n in frames]
    for k, ys in cols.items():
        caps = [f"{rep._db(psnr(float(np.mean((y.astype(np.float64) - q[n][0]) ** 2))))} dB"
                for y, n in zip(ys, frames)]
        rows.append((k, ys, caps))
    grid_png(REPO / "docs" / "images" / "fade_strip.png",
             [(lab, [y[8:136, 32:224] for y in ys], caps) for lab, ys, caps in rows])


def write_section(text: str) -> None:
    doc = DOCS.read_text() if DOCS.exists() else "# Quality\n"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + doc[doc.index(END) + len(END):].lstrip("\n")
    DOCS.write_text(doc.rstrip("\n") + f"\n\n{BEGIN}\n{text}{END}\n")


def main(argv: list[str] | None = None) -> int:
    import transitions_report as rep

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few sequences, a 10 s montage, no 5/2 / 3.6 / 4.26 runs")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    shots, small = ts.load_shots(*DECIDE_SIZE), ts.load_shots(*INTERP_SIZE)
    parts: list[str] = []
    goals: list[tuple[str, bool]] = []
    sets = {step: ts.build_set(shots, step) for step in (2, 5)}
    small_sets = {step: ts.build_set(small, step) for step in (2, 5)}
    for step in (2, 5):
        rows = decisions(sets[step], step)
        parts += rep.decision_table(rows, step)
        goals += rep.cut_targets(rows, step)
    interp = {2: [s for s in small_sets[2] if not s.name.startswith("cuts")],
              5: [s for s in small_sets[5] if not s.name.startswith("cuts")]}
    if args.quick:
        interp = {2: [s for s in interp[2] if s.name.endswith("pan-6")], 5: []}
    runs = [("4.0, 2x", 2, Fraction(2), "4.0", METHODS, True)]
    if not args.quick:
        runs += [("4.0, 5/2", 5, Fraction(5, 2), "4.0", METHODS, True),
                 ("3.6, 2x", 2, Fraction(2), "3.6", METHODS, True)]
    for label, step, ratio, model, methods, extras in runs:
        seqs = interp[step] if label == "4.0, 2x" else [s for s in interp[step] if s.name.startswith(("fade", "dis"))]
        res = evaluate(seqs, step, ratio, model, args, methods, extras)
        parts += rep.psnr_table(label, res)
        goals += rep.targets(label, res)
        print(f"[{time.perf_counter() - t0:.0f} s] {label}", file=sys.stderr)
    if not args.quick:
        path = random_weights("4.26")
        res = evaluate([s for s in interp[2] if "pan" in s.name], 2, Fraction(2), "4.26", args,
                       {"default": {}, "fade=False": dict(fade=False)},
                       False, model_path=path)
        fades = sum(m.get("fade", 0) for m in res["modes"].values())
        parts += [f"**4.26 (random weights), 2x**: fade path used for {fades} frames; frames of pairs outside "
                  f"transitions identical to `fade=False`: {res['identical']} / {res['outside']}.", ""]
        goals.append((f"4.26 outside transitions bit-identical ({res['identical']}/{res['outside']})",
                      res["identical"] == res["outside"]))
    seconds = 10 if args.quick else 30
    mont, true_dups = build_montage(shots, seconds)
    mdec = decisions([mont], MONTAGE_STEP)
    mres = evaluate([build_montage(small, seconds)[0]], MONTAGE_STEP, Fraction(2), "4.0", args,
                    {"default": {}, "fade=False": dict(fade=False)}, True)
    parts += rep.montage_lines(mdec, mres, montage_dups(mont, true_dups), len(mont.frames) / 48)
    goals += rep.cut_targets(mdec, MONTAGE_STEP)
    print(f"[{time.perf_counter() - t0:.0f} s] montage", file=sys.stderr)
    if not args.no_docs:
        strip(sets[2], args)   # at the decision size: a picture to look at
    runtime = time.perf_counter() - t0
    text = rep.section(parts, runtime, goals)
    print(text)
    if not args.no_docs:
        write_section(text)
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
