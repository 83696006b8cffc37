"""Metrics and methods of `make quality`: PSNR, the clock estimator, mixed frames, the filter's pair metrics,
RIFE and mvtools runs."""

from __future__ import annotations

import argparse
import math

import numpy as np
import vapoursynth as vs

from quality_common import (
    ALT_MAD_FLOOR, CLOCK_GRID, CLOCK_SEARCH, FPS, MIXED_SNR_DB, RATIO, clip_from_planes, core, planes_of
)
from quality_scenes import Sequence, Shot


def mse(a: np.ndarray, b: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(d * d))


def psnr_of_mse(m: float) -> float:
    return 99.0 if m <= 1e-10 else 10 * math.log10(255.0 ** 2 / m)


def snr_db(m: float, var: float) -> float:
    """Contrast-relative closeness: 10 log10(var(reference) / MSE); the same for a scene and its night version."""
    return 99.0 if m <= 1e-10 else 10 * math.log10(max(var, 1e-6) / m)


class ClockBank:
    """Y renders of one shot on a grid of clocks, for estimating the clock an output frame shows."""

    def __init__(self, shot: Shot, u0: float, u1: float) -> None:
        lo = math.floor((u0 - CLOCK_SEARCH) / CLOCK_GRID)
        hi = math.ceil((u1 + CLOCK_SEARCH) / CLOCK_GRID)
        self.us = np.arange(lo, hi + 1) * CLOCK_GRID
        self.ys = np.stack([shot.camera.render(float(u))[0] for u in self.us]).astype(np.float32)
        self.vars = self.ys.astype(np.float64).var(axis=(1, 2))

    def estimate(self, y: np.ndarray, near: float) -> tuple[float, float]:
        """(clock, best SNR vs the bank) of a Y plane; searched within CLOCK_SEARCH of ``near``."""
        sel = np.nonzero(np.abs(self.us - near) <= CLOCK_SEARCH + 1e-9)[0]
        yf = y.astype(np.float32)
        errs = np.array([float(np.mean((self.ys[i] - yf) ** 2)) for i in sel])
        k = int(np.argmin(errs))
        u = float(self.us[sel[k]])
        if 0 < k < len(errs) - 1:
            e0, e1, e2 = errs[k - 1], errs[k], errs[k + 1]
            den = e0 - 2 * e1 + e2
            if den > 0:
                u += 0.5 * (e0 - e2) / den * CLOCK_GRID
        return u, snr_db(float(errs[k]), float(self.vars[sel[k]]))

    def best_snr(self, y: np.ndarray) -> float:
        """Best SNR of a Y plane against every render of the bank (any clock)."""
        yf = y.astype(np.float32)
        best = -math.inf
        for i in range(0, len(self.ys), 32):
            d = self.ys[i: i + 32] - yf
            m = np.mean(d * d, axis=(1, 2))
            best = max(best, max(snr_db(float(e), float(v)) for e, v in zip(m, self.vars[i: i + 32])))
        return best


def grey_copies(frames: list[tuple[np.ndarray, ...]]) -> list[np.ndarray]:
    """The filter's grey copy (``vsrife.metrics.grey``) of each frame, as numpy arrays."""
    from vsrife.metrics import grey

    g = grey(clip_from_planes(frames))
    return [np.array(g.get_frame(n)[0], copy=True) for n in range(g.num_frames)]


def block_means(frames: list[tuple[np.ndarray, ...]]) -> list[np.ndarray]:
    """Block means of the grey copy on the filter's grid (``vsrife.metrics.block_grid``)."""
    from vsrife.metrics import block_grid, grey

    b = block_grid(grey(clip_from_planes(frames)))
    return [np.array(b.get_frame(n)[0], copy=True) for n in range(b.num_frames)]


def alt_cut_metrics(frames: list[tuple[np.ndarray, ...]]) -> dict[str, list[float]]:
    """Candidate cut metrics that do not scale with brightness/contrast, for pairs (j, j+1).

    * ``norm``: mean |dY| / (MAD(Y_j) + MAD(Y_j+1)), MAD = mean absolute deviation from the frame mean;
    * ``block_norm``: the same on the means of a 16-wide block grid (small motion barely moves block means).
    """
    gs = grey_copies(frames)
    bs = block_means(frames)
    out: dict[str, list[float]] = {"norm": [], "block_norm": []}

    def mad(x: np.ndarray) -> float:
        return float(np.mean(np.abs(x - x.mean())))

    for a, b in zip(gs[:-1], gs[1:]):
        out["norm"].append(float(np.mean(np.abs(a - b))) / max(mad(a) + mad(b), ALT_MAD_FLOOR))
    for a, b in zip(bs[:-1], bs[1:]):
        out["block_norm"].append(float(np.mean(np.abs(a - b))) / max(mad(a) + mad(b), ALT_MAD_FLOOR))
    return out


def pair_metrics(frames: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """The filter's own metrics for pairs (j, j+1): (cut metric = mean |dY|, dup metric = max block-mean |dY|)."""
    from vsrife.metrics import pair_metrics as vsrife_pair_metrics

    clip = clip_from_planes(frames)
    m = vsrife_pair_metrics(clip)
    cut, dup = [], []
    for j in range(clip.num_frames - 1):
        p = m.get_frame(j).props
        cut.append(float(p["VsrifeDiff"]))
        dup.append(float(p["VsrifeBlockDiff"]))
    return np.array(cut), np.array(dup)


def run_rife(src: vs.VideoNode, args: argparse.Namespace, **kw) -> list[tuple[np.ndarray, ...]]:
    import vsrife

    extra = {}
    if args.sc_threshold is not None:
        extra["sc_threshold"] = args.sc_threshold
    if args.dedup_threshold is not None:
        extra["dedup_threshold"] = args.dedup_threshold
    extra.update(kw)
    out = vsrife.rife(src, model="4.0", factor_num=RATIO, device=args.device, num_threads=args.threads,
                      auto_download=True, **extra)
    return [planes_of(out.get_frame(n)) for n in range(out.num_frames)]


def run_mvtools(src: vs.VideoNode, n_out: int) -> list[tuple[np.ndarray, ...]]:
    sup = core.mv.Super(src, pel=2, sharp=2, rfilter=4)
    bv = core.mv.Analyse(sup, isb=True, blksize=16, overlap=8)
    fv = core.mv.Analyse(sup, isb=False, blksize=16, overlap=8)
    out = core.mv.FlowFPS(src, sup, bv, fv, num=FPS.numerator * RATIO, den=FPS.denominator)
    frames = [planes_of(out.get_frame(min(n, out.num_frames - 1))) for n in range(n_out)]
    return frames


def evaluate(seq: Sequence, outs: list[tuple[np.ndarray, ...]], truth: list[tuple[np.ndarray, ...]],
             banks: list[ClockBank], src: list[tuple[np.ndarray, ...]], count_mixed: bool = True) -> dict:
    n_out = seq.n_out
    mses = [mse(outs[n][0], truth[n][0]) for n in range(n_out)]
    clocks, shots, own = [], [], []
    for n in range(n_out):
        k, u = seq.truth(n)
        est, best = banks[k].estimate(outs[n][0], u)
        clocks.append(est)
        shots.append(k)
        own.append(best)
    steps, gsteps = [], []
    for n in range(n_out - 1):
        if shots[n] == shots[n + 1]:
            steps.append(clocks[n + 1] - clocks[n])
            gsteps.append(seq.truth(n + 1)[1] - seq.truth(n)[1])
    steps, gsteps = np.array(steps), np.array(gsteps)
    moving = steps[gsteps > 1e-9]          # evenness is judged where the scene moves (not in holds)
    res = {
        "psnr": psnr_of_mse(float(np.mean(mses))),
        "worst_psnr": min(psnr_of_mse(m) for m in mses),
        "cv": float(np.std(moving) / np.mean(moving)) if np.mean(moving) > 0 else float("nan"),
        "step_err": float(np.sqrt(np.mean((steps - gsteps) ** 2))),
        "clocks": [round(c, 3) for c in clocks],
        "own_shot_min_snr": min(own),    # lower bound of each frame's closeness to its own shot
    }
    if count_mixed and len(seq.shots) > 1:
        res.update(mixed_frames(seq, outs, banks, src))
    return res


def closeness(seq: Sequence, y: np.ndarray, banks: list[ClockBank], src: list[tuple[np.ndarray, ...]]) -> list[float]:
    """Best SNR of a Y plane vs each shot (its renders at any clock and its source frames)."""
    owner = seq.source_shot()
    best = []
    for k, bank in enumerate(banks):
        b = bank.best_snr(y)
        for j, fr in enumerate(src):
            if owner[j] == k:
                b = max(b, snr_db(mse(y, fr[0]), float(fr[0].astype(np.float64).var())))
        best.append(b)
    return best


def mixed_frames(seq: Sequence, outs, banks, src) -> dict:
    mixed, closest = [], []
    for n in range(seq.n_out):
        c = max(closeness(seq, outs[n][0], banks, src))
        closest.append(c)
        if c < MIXED_SNR_DB:
            mixed.append(n)
    return {"mixed": len(mixed), "mixed_frames": mixed, "min_closeness": min(closest)}


def dup_truth(seq: Sequence) -> np.ndarray:
    """For pairs (j, j+1): True when j+1 shows the same drawing as j."""
    flags = []
    for shot in seq.shots:
        for L in shot.runs:
            flags += [False] + [True] * (L - 1)
    return np.array(flags[1:], dtype=bool)


def cut_truth(seq: Sequence) -> np.ndarray:
    flags = np.zeros(seq.n_src - 1, dtype=bool)
    for c in seq.cuts():
        flags[c - 1] = True
    return flags
