"""The threshold study of `make quality`: the duplicate and cut metrics on every set, candidate thresholds."""

from __future__ import annotations


import numpy as np

from quality_common import CRFS, CUT_STEPS, DUP_STEPS, W, x264_roundtrip
from quality_scenes import CUT_ANGLES, Camera, Sequence, Still, hd_sequences
from quality_eval import alt_cut_metrics, cut_truth, dup_truth, pair_metrics


def dup_row(label: str, items: list[tuple[Sequence, list]], thr: float) -> dict:
    """Duplicate-metric statistics over the source pairs of some sequences (each with its frames)."""
    dups, news, slow, noncuts, noncut, noncut_at = [], [], [], [], 0.0, ""
    alt_noncut: dict[str, list[float]] = {"norm": [], "block_norm": []}
    for seq, frames in items:
        cut_m, dup_m = pair_metrics(frames)
        is_dup, is_cut = dup_truth(seq), cut_truth(seq)
        for k, v in alt_cut_metrics(frames).items():
            alt_noncut[k] += np.array(v)[~is_cut].tolist()
        dups += dup_m[is_dup].tolist()
        news += dup_m[~is_dup & ~is_cut].tolist()
        if "slow" in seq.key or seq.key == "e2":
            slow += dup_m[~is_dup & ~is_cut].tolist()
        noncuts += cut_m[~is_cut].tolist()
        if cut_m[~is_cut].max() > noncut:
            noncut, noncut_at = float(cut_m[~is_cut].max()), seq.key
    dups_a, news_a = np.array(dups), np.array(news)
    return {"source": label, "dups": dups, "news": news, "noncuts": noncuts, "alt_noncuts": alt_noncut,
            "n_dup": len(dups), "dup_max": float(dups_a.max()) if dups else None,
            "dup_missed": int(np.sum(dups_a > thr)), "n_new": len(news), "new_min": float(news_a.min()),
            "new_as_dup": int(np.sum(news_a <= thr)), "slowest_pan_min": float(min(slow)) if slow else None,
            "noncut_cut_metric_max": noncut, "noncut_max_in": noncut_at}


def evidence(seqs: list[Sequence], srcs: dict[str, list], stills: dict[str, Still], real: dict[str, list],
             defaults: dict, quick: bool) -> dict:
    thr_dup, thr_cut = defaults["dedup_threshold"], defaults["sc_threshold"]
    ev: dict = {"dup": {}, "cut": {}}
    lossless = [(s, s.source_frames(lossless=True)) for s in seqs if s.crf is None]
    crfs = CRFS if not quick else (23,)
    rows = [dup_row("256x144 lossless", lossless, thr_dup)]
    for crf in crfs:
        rows.append(dup_row(f"256x144 x264 crf {crf}", [(s, x264_roundtrip(f, crf)) for s, f in lossless], thr_dup))
    hd = [(s, s.source_frames()) for s in hd_sequences(stills)]
    for crf in crfs:
        rows.append(dup_row(f"1280x720 x264 crf {crf}", [(s, x264_roundtrip(f, crf)) for s, f in hd], thr_dup))
    ev["dup"]["sources"] = rows

    # -- pan-speed sweep: dup and cut metric of one-frame steps at several speeds over several camera positions
    spots = [("bbb0", 420, 380), ("bbb0", 700, 520), ("bbb60", 640, 360), ("bbb120", 860, 300),
             ("bbb120", 640, 200), ("car0", 176, 144)]
    sweep = []
    for sp in (0.05, 0.1, 0.15, 0.25, 0.5, 2.0, 4.0, 8.0, 12.0, 16.0):
        dvals, cvals, avals = [], [], {}
        for name, cx, cy in spots:
            st = stills[name]
            width = 512 if st.width > 1000 else 256
            cam = Camera(st, cx, cy, width, vx=sp * width / W)   # sp output px per frame
            fr = [cam.render(u) for u in range(3)]
            for frames in (fr, x264_roundtrip(fr, 23)):
                cm, dm = pair_metrics(frames)
                dvals.append(float(dm.min()))
                cvals.append(float(cm.max()))
                for k, v in alt_cut_metrics(frames).items():
                    avals.setdefault(k, []).append(max(v))
        sweep.append({"px_per_frame": sp, "dup_metric_min": min(dvals), "dup_metric_median": float(np.median(dvals)),
                      "cut_metric_values": cvals, "dup_metric_values": dvals,
                      "alt_cut_max": {k: max(v) for k, v in avals.items()},
                      "cut_metric_max": max(cvals), "cut_metric_median": float(np.median(cvals))})
    ev["sweep"] = sweep

    # -- real footage
    for name, frames in real.items():
        cut_m, dup_m = pair_metrics(frames)
        small = [int(j) for j in np.nonzero(dup_m < 0.003)[0]]
        rest = np.delete(dup_m, small)
        ev["dup"][name] = {"pairs": len(dup_m), "near_duplicates": small,
                           "near_dup_max": float(dup_m[small].max()) if small else None,
                           "others_min": float(rest.min()), "others_p5": float(np.percentile(rest, 5))}
        ev["cut"][name] = {"pairs": len(cut_m), "max": float(cut_m.max()), "p99": float(np.percentile(cut_m, 99)),
                           "median": float(np.median(cut_m)),
                           "alt_max": {k: max(v) for k, v in alt_cut_metrics(frames).items()}}

    # -- cut metric: every cut between sixteen camera angles (bbb frames 0/60/120 at several places, carphone)
    def all_cuts(dark: bool) -> list[tuple[float, str]]:
        pics = [Camera(stills[s + ("-dark" if dark else "")], cx, cy, w).render(0.0) for s, cx, cy, w in CUT_ANGLES]
        seq = [pics[i // len(pics)] if k == 0 else pics[i % len(pics)] for i in range(len(pics) ** 2) for k in (0, 1)]
        cm, _ = pair_metrics(seq)
        alt = alt_cut_metrics(seq)
        out = []
        for i in range(len(pics) ** 2):
            a, b = CUT_ANGLES[i // len(pics)], CUT_ANGLES[i % len(pics)]
            if a != b:
                out.append((float(cm[2 * i]), f"{a[0]}@{a[1]},{a[2]}/{a[3]} -> {b[0]}@{b[1]},{b[2]}/{b[3]}",
                            {k: v[2 * i] for k, v in alt.items()}))
        return sorted(out, key=lambda c: c[0])

    cuts = all_cuts(False)
    dark = all_cuts(True)
    vals = np.array([c[0] for c in cuts])
    ev["cut"]["values"] = vals.tolist()
    ev["alt"] = {}
    for k in ("norm", "block_norm"):
        ev["alt"][k] = {"cut_min": min(c[2][k] for c in cuts), "night_cut_min": min(c[2][k] for c in dark),
                        "seq_noncut_max": max(max(r["alt_noncuts"][k]) for r in rows),
                        "real_noncut_max": max(ev["cut"][n]["alt_max"][k] for n in real),
                        "pan_max": {str(r["px_per_frame"]): r["alt_cut_max"][k] for r in sweep}}
    ev["cut"]["dark_values"] = [c[0] for c in dark]
    ev["cut"]["dark"] = {"n": len(dark), "min": dark[0][0], "min_pair": dark[0][1],
                         "median": float(np.median([c[0] for c in dark])),
                         "missed_at_default": int(sum(c[0] <= thr_cut for c in dark))}
    ev["cut"]["angles"] = {"n": len(cuts), "min": cuts[0][0], "min_pair": cuts[0][1],
                           "p5": float(np.percentile(vals, 5)), "p10": float(np.percentile(vals, 10)),
                           "median": float(np.median(vals)), "lowest5": [(round(c[0], 4), c[1]) for c in cuts[:5]],
                           "missed_at_default": int(np.sum(vals <= thr_cut))}
    top = max(rows, key=lambda r: r["noncut_cut_metric_max"])
    ev["cut"]["synthetic_noncut_max"] = top["noncut_cut_metric_max"]
    ev["cut"]["synthetic_noncut_max_in"] = f"{top['noncut_max_in']} ({top['source']})"
    ev["cut"]["real_noncut_max"] = max(ev["cut"][k]["max"] for k in real)
    ev["thresholds"] = threshold_tables(ev, defaults)
    seq_d = next((s for s in seqs if s.key == "d"), None)
    if seq_d is not None:
        cm_d, _ = pair_metrics(srcs["d"])
        ev["cut"]["sequence_d"] = [float(cm_d[c - 1]) for c in seq_d.cuts()]
    return ev


def threshold_tables(ev: dict, defaults: dict) -> dict:
    """What each candidate threshold would get right and wrong on the evidence above."""
    rows = ev["dup"]["sources"]
    lossy = [r for r in rows if r["source"].startswith("256x144 x264")]
    hd = [r for r in rows if r["source"].startswith("1280x720")]
    news = [v for r in rows for v in r["news"]]
    noncuts = [v for r in rows for v in r["noncuts"]]
    sweep = ev["sweep"]
    dup_t, cut_t = [], []
    for t in [round(defaults["dedup_threshold"] * k, 6) for k in DUP_STEPS]:
        ok = [r["px_per_frame"] for r in sweep if min(r["dup_metric_values"]) > t]
        slowest = None
        for r in sorted(sweep, key=lambda r: -r["px_per_frame"]):   # all speeds from the top down must be seen
            if min(r["dup_metric_values"]) <= t:
                break
            slowest = r["px_per_frame"]
        dup_t.append({"t": t, "missed_256": sum(v > t for r in lossy for v in r["dups"]),
                      "n_256": sum(len(r["dups"]) for r in lossy),
                      "missed_hd": sum(v > t for r in hd for v in r["dups"]), "n_hd": sum(len(r["dups"]) for r in hd),
                      "new_as_dup": sum(v <= t for v in news), "n_new": len(news), "slowest_pan_seen": slowest,
                      "speeds_seen": ok})
    for t in [round(defaults["sc_threshold"] * k, 6) for k in CUT_STEPS]:
        fastest = None
        for r in sorted(sweep, key=lambda r: r["px_per_frame"]):
            if max(r["cut_metric_values"]) > t:
                break
            fastest = r["px_per_frame"]
        cut_t.append({"t": t, "missed": sum(v <= t for v in ev["cut"]["values"]), "n": len(ev["cut"]["values"]),
                      "missed_dark": sum(v <= t for v in ev["cut"]["dark_values"]),
                      "n_dark": len(ev["cut"]["dark_values"]),
                      "false_cuts": sum(v > t for v in noncuts), "n_noncut": len(noncuts),
                      "fastest_pan_not_cut": fastest})
    return {"dup": dup_t, "cut": cut_t}
