"""Bad input: every mistake a user can make in a ``rife(...)`` call ends in a ``vs.Error`` that names ``rife``, the
parameter, and what is allowed -- raised when the script is evaluated, never as a crash at frame time.

Also documented here:

* VapourSynth clips cannot have 0 frames (``BlankClip(length=0)`` is refused by VapourSynth itself), so ``rife``
  never sees one.
* A 1-frame clip is valid: there is no pair to interpolate, so every output frame is a bit-identical copy of the
  only frame (``ceil(1 * ratio)`` of them; x2 gives 2 copies, /2 gives 1).
* A 2-frame clip at x2 gives 4 frames: source 0, the t = 0.5 frame, source 1, and source 1 held (the output lasts as
  long as the input: ``ceil(N * ratio)`` frames, holding the last frame past the end).
* Hostile weights passed as ``model_path`` (a pickle whose unpickling would run code) are refused with a
  ``vs.Error`` and never unpickled.

The weights files used here hold random parameters (``create_model(name).state_dict()``), so this module needs no
download.
"""

from __future__ import annotations

import inspect
import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import vapoursynth as vs

import vsrife
from vsrife import models

core = vs.core


def blank(fmt=vs.YUV420P8, w=64, h=48, n=4, fps=(25, 1)) -> vs.VideoNode:
    return core.std.BlankClip(format=fmt, width=w, height=h, length=n, fpsnum=fps[0], fpsden=fps[1])


def textured(fmt=vs.YUV420P8, w=64, h=48, n=3) -> vs.VideoNode:
    """Frames that differ from each other (so an interpolated frame differs from both neighbours)."""
    base = blank(fmt, w, h, n)

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(out.format.num_planes):
            a = np.asarray(out[p])
            yy, xx = np.mgrid[0: a.shape[0], 0: a.shape[1]]
            a[:] = (128 + 60 * np.sin(xx / 5.0 + 1.3 * n + p) * np.cos(yy / 4.0)).astype(a.dtype)
        return out

    return core.std.ModifyFrame(base, base, fill)


def planes(f: vs.VideoFrame) -> list[np.ndarray]:
    return [np.array(f[p], copy=True) for p in range(f.format.num_planes)]


# --------------------------------------------------------------------------------------------------------------------
# Weights files with random parameters (no download needed)


@pytest.fixture(scope="module")
def wdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    sd40 = models.create_model("4.0").state_dict()
    torch.save(sd40, d / "flownet_v4.0.pkl")
    torch.save(models.create_model("4.22").state_dict(), d / "flownet_v4.22.pkl")
    torch.save(models.create_model("3.6").state_dict(), d / "flownet_v3.6.pkl")
    raw = (d / "flownet_v4.0.pkl").read_bytes()
    (d / "truncated.pkl").write_bytes(raw[: len(raw) // 2])
    (d / "empty.pkl").write_bytes(b"")
    (d / "garbage.pth").write_bytes(bytes(range(256)) * 64)
    (d / "page.pkl").write_bytes(b"<!DOCTYPE html><html><body>Sign in</body></html>")
    torch.save([torch.zeros(3)], d / "list.pkl")
    torch.save({"epoch": 3, "lr": 0.1}, d / "checkpoint.pkl")
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 3, 3)).state_dict(),
               d / "othernet.pkl")
    partial = dict(sd40)
    partial.pop(next(iter(partial)))
    torch.save(partial, d / "partial_rife.pkl")
    (d / "folder.pkl").mkdir()
    return d


# --------------------------------------------------------------------------------------------------------------------
# The matrix: (id, kwargs for rife() -- a callable of the weights dir, patterns every message must match)
#
# Every message must start with "rife: ", and match each of the patterns (the parameter, what is allowed).

A = blank()


def _var_format():
    return core.std.Splice([blank(vs.YUV420P8), blank(vs.RGB24)], mismatch=True)


def _var_size():
    return core.std.Splice([blank(w=64), blank(w=80)], mismatch=True)


def _var_fps():
    clip = core.std.Splice([blank(fps=(25, 1)), blank(fps=(30, 1))], mismatch=True)
    assert clip.fps == 0  # fps 0/1: variable rate
    return clip


CASES: list[tuple[str, object, list[str]]] = [
    # ---- the clip
    ("clip-not-a-clip", lambda d: dict(clip=5), [r"\bclip\b", r"VideoNode"]),
    ("clip-audio-node", lambda d: dict(clip=core.std.BlankAudio()), [r"\bclip\b", r"VideoNode"]),
    ("clip-variable-format", lambda d: dict(clip=_var_format()), [r"\bclip\b", r"constant format"]),
    ("clip-variable-size", lambda d: dict(clip=_var_size()), [r"\bclip\b", r"constant frame size"]),
    ("clip-32bit-integer", lambda d: dict(clip=blank(vs.GRAY32)), [r"\bclip\b", r"up to 16 bits"]),
    # ---- the rate
    ("fps-on-variable-rate-clip", lambda d: dict(clip=_var_fps(), fps_num=60, fps_den=1),
     [r"fps_num", r"known frame rate", r"factor_num"]),
    ("fps_num-without-fps_den", lambda d: dict(clip=A, fps_num=60), [r"fps_num", r"fps_den", r"together"]),
    ("fps_den-without-fps_num", lambda d: dict(clip=A, fps_den=1), [r"fps_num", r"fps_den", r"together"]),
    ("fps_num-zero", lambda d: dict(clip=A, fps_num=0, fps_den=1), [r"fps_num", r"integer >= 1"]),
    ("fps_num-float", lambda d: dict(clip=A, fps_num=59.94, fps_den=1), [r"fps_num", r"integer >= 1"]),
    ("fps_den-negative", lambda d: dict(clip=A, fps_num=60, fps_den=-1), [r"fps_den", r"integer >= 1"]),
    ("factor_num-zero", lambda d: dict(clip=A, factor_num=0), [r"factor_num", r"integer >= 1"]),
    ("factor_num-negative", lambda d: dict(clip=A, factor_num=-2), [r"factor_num", r"integer >= 1"]),
    ("factor_num-float", lambda d: dict(clip=A, factor_num=2.5), [r"factor_num", r"integer >= 1"]),
    ("factor_num-string", lambda d: dict(clip=A, factor_num="2"), [r"factor_num", r"integer >= 1"]),
    ("factor_num-bool", lambda d: dict(clip=A, factor_num=True), [r"factor_num", r"integer >= 1"]),
    ("factor_den-zero", lambda d: dict(clip=A, factor_den=0), [r"factor_den", r"integer >= 1"]),
    ("factor_den-float", lambda d: dict(clip=A, factor_den=1.5), [r"factor_den", r"integer >= 1"]),
    # ---- scale and switches
    ("scale-not-allowed", lambda d: dict(clip=A, scale=0.3), [r"\bscale\b", r"0\.25, 0\.5, 1\.0, 2\.0, 4\.0"]),
    ("scale-3", lambda d: dict(clip=A, scale=3), [r"\bscale\b", r"one of"]),
    ("scale-string", lambda d: dict(clip=A, scale="1"), [r"\bscale\b", r"one of"]),
    ("ensemble-not-bool", lambda d: dict(clip=A, ensemble="yes"), [r"ensemble", r"True or False"]),
    ("sc-not-bool", lambda d: dict(clip=A, sc=1), [r"\bsc\b", r"True or False"]),
    ("dedup-not-bool", lambda d: dict(clip=A, dedup=None), [r"dedup", r"True or False"]),
    ("auto_download-not-bool", lambda d: dict(clip=A, auto_download="y"), [r"auto_download", r"True or False"]),
    ("fade-not-bool", lambda d: dict(clip=A, fade="yes"), [r"\bfade\b", r"True or False"]),
    ("fade-none", lambda d: dict(clip=A, fade=None), [r"\bfade\b", r"True or False"]),
    ("debug-not-bool", lambda d: dict(clip=A, debug=1), [r"\bdebug\b", r"True or False"]),
    ("factor-256-3.6", lambda d: dict(clip=A, model_path=str(d / "flownet_v3.6.pkl"), factor_num=256),
     [r"3\.6", r"t = 0\.5", r"factors up to 128", r"1/256", r"model='4\.0'"]),
    ("ensemble-4.22", lambda d: dict(clip=A, model_path=str(d / "flownet_v4.22.pkl"), ensemble=True),
     [r"ensemble=True", r"4\.22", r"ensemble=False", r"models with ensemble: .*4\.0"]),
    ("ensemble-3.6", lambda d: dict(clip=A, model_path=str(d / "flownet_v3.6.pkl"), ensemble=True),
     [r"ensemble=True", r"3\.6", r"ensemble=False"]),
    # ---- model name
    ("model-unknown", lambda d: dict(clip=A, model="4.99"),  # a version that does not exist: no suggestion
     [r"\bmodel\b", r"'4\.99'\. Valid models", r"3\.6, 4\.0, 4\.1.*4\.26\.heavy"]),
    ("model-typo-heavy", lambda d: dict(clip=A, model="4.26.heavyy"),
     [r"\bmodel\b", r"[Dd]id you mean '4\.26\.heavy'"]),
    ("model-typo", lambda d: dict(clip=A, model="4.22lite"), [r"\bmodel\b", r"'4\.22\.lite'", r"4\.0"]),
    ("model-number", lambda d: dict(clip=A, model=4.0), [r"\bmodel\b", r"string such as '4\.0'"]),
    # ---- model_path
    ("model_path-missing", lambda d: dict(clip=A, model_path=str(d / "nope.pkl")),
     [r"model_path", r"not found", r"weights file"]),
    ("model_path-directory", lambda d: dict(clip=A, model_path=str(d)), [r"model_path", r"is a directory"]),
    ("model_path-dir-named-pkl", lambda d: dict(clip=A, model_path=str(d / "folder.pkl")),
     [r"model_path", r"is a directory"]),
    ("model_path-empty", lambda d: dict(clip=A, model_path=str(d / "empty.pkl")),
     [r"model_path", r"empty \(0 bytes\)"]),
    ("model_path-truncated", lambda d: dict(clip=A, model_path=str(d / "truncated.pkl")),
     [r"model_path", r"truncated or corrupt"]),
    ("model_path-garbage", lambda d: dict(clip=A, model_path=str(d / "garbage.pth")),
     [r"model_path", r"\.pkl/\.pth"]),
    ("model_path-html", lambda d: dict(clip=A, model_path=str(d / "page.pkl")), [r"model_path", r"web page"]),
    ("model_path-not-a-dict", lambda d: dict(clip=A, model_path=str(d / "list.pkl")),
     [r"model_path", r"holds a list, not a state dict"]),
    ("model_path-no-tensors", lambda d: dict(clip=A, model_path=str(d / "checkpoint.pkl")),
     [r"model_path", r"not a state dict of tensors"]),
    ("model_path-other-network", lambda d: dict(clip=A, model_path=str(d / "othernet.pkl")),
     [r"model_path", r"not a RIFE", r"supported: 3\.6, 4\.0"]),
    ("model_path-partial-rife", lambda d: dict(clip=A, model_path=str(d / "partial_rife.pkl")),
     [r"model_path", r"matches no supported RIFE architecture", r"missing"]),
    ("model_path-int", lambda d: dict(clip=A, model_path=5), [r"model_path", r"str or os\.PathLike"]),
    ("model_path-empty-string", lambda d: dict(clip=A, model_path=""), [r"model_path", r"str or os\.PathLike"]),
    # ---- device and precision
    ("device-unknown", lambda d: dict(clip=A, device="tpu"), [r"device", r"'cpu', 'cuda', 'cuda:N'"]),
    ("device-number", lambda d: dict(clip=A, device=2.5), [r"device", r"'cpu', 'cuda', 'cuda:N'"]),
    ("device-meta", lambda d: dict(clip=A, device="meta"), [r"device", r"'cpu', 'cuda'", r"no data"]),
    ("precision-fp16-on-cpu", lambda d: dict(clip=A, device="cpu", precision="fp16"),
     [r"precision='fp16'", r"CPU", r"'bf16' or 'fp32'"]),
    ("precision-unknown", lambda d: dict(clip=A, device="cpu", precision="fp64"),
     [r"precision", r"'fp32', 'fp16', 'bf16'"]),
    ("precision-not-a-string", lambda d: dict(clip=A, device="cpu", precision=16),
     [r"precision", r"'fp32', 'fp16', 'bf16'"]),
    ("device_index-negative", lambda d: dict(clip=A, device_index=-1), [r"device_index", r"int >= 0"]),
    ("device_index-string", lambda d: dict(clip=A, device_index="0"), [r"device_index", r"int >= 0"]),
    # ---- TensorRT settings (checked when trt=True, before the GPU is looked for)
    ("trt-not-bool", lambda d: dict(clip=A, trt="yes"), [r"\btrt\b", r"True or False"]),
    ("trt_static_shape-int", lambda d: dict(clip=A, trt=True, trt_static_shape=1),
     [r"trt_static_shape", r"True or False"]),
    ("trt_min_shape-short", lambda d: dict(clip=A, trt=True, trt_min_shape=(1,)),
     [r"trt_min_shape", r"2 integers >= 1"]),
    ("trt_opt_shape-string", lambda d: dict(clip=A, trt=True, trt_opt_shape="x"),
     [r"trt_opt_shape", r"2 integers >= 1"]),
    ("trt_max_shape-zero", lambda d: dict(clip=A, trt=True, trt_max_shape=(0, 0)),
     [r"trt_max_shape", r"2 integers >= 1"]),
    ("trt_workspace_size-negative", lambda d: dict(clip=A, trt=True, trt_workspace_size=-1),
     [r"trt_workspace_size", r"integer >= 0"]),
    ("trt_max_aux_streams-negative", lambda d: dict(clip=A, trt=True, trt_max_aux_streams=-1),
     [r"trt_max_aux_streams", r"None .* or an integer >= 0"]),
    ("trt_optimization_level-9", lambda d: dict(clip=A, trt=True, trt_optimization_level=9),
     [r"trt_optimization_level", r"integer 0\.{2,3}5"]),
    ("trt_cache_dir-int", lambda d: dict(clip=A, trt=True, trt_cache_dir=5), [r"trt_cache_dir", r"directory path"]),
    # ---- numbers
    ("sc_threshold-string", lambda d: dict(clip=A, sc_threshold="x"), [r"sc_threshold", r"positive number .* or None"]),
    ("sc_threshold-zero", lambda d: dict(clip=A, sc_threshold=0), [r"sc_threshold", r"positive number .* or None"]),
    ("sc_threshold-negative", lambda d: dict(clip=A, sc_threshold=-0.5), [r"sc_threshold", r"positive number"]),
    ("sc_threshold-nan", lambda d: dict(clip=A, sc_threshold=float("nan")), [r"sc_threshold", r"positive number"]),
    ("dedup_threshold-none", lambda d: dict(clip=A, dedup_threshold=None), [r"dedup_threshold", r"\[0, 1\)"]),
    ("dedup_threshold-negative", lambda d: dict(clip=A, dedup_threshold=-0.1),
     [r"dedup_threshold", r"\[0, 1\)"]),
    ("dedup_threshold-one", lambda d: dict(clip=A, dedup_threshold=1), [r"dedup_threshold", r"\[0, 1\)"]),
    ("dedup_max_run-zero", lambda d: dict(clip=A, dedup_max_run=0), [r"dedup_max_run", r"integer >= 1"]),
    ("dedup_max_run-float", lambda d: dict(clip=A, dedup_max_run=1.5), [r"dedup_max_run", r"integer >= 1"]),
    ("num_threads-zero", lambda d: dict(clip=A, num_threads=0), [r"num_threads", r"integer >= 1 or None"]),
    ("num_threads-string", lambda d: dict(clip=A, num_threads="4"), [r"num_threads", r"integer >= 1 or None"]),
    ("num_threads-float", lambda d: dict(clip=A, num_threads=2.0), [r"num_threads", r"integer >= 1 or None"]),
    ("cache_frames-one", lambda d: dict(clip=A, cache_frames=1), [r"cache_frames", r"integer >= 2"]),
    ("cache_frames-float", lambda d: dict(clip=A, cache_frames=3.5), [r"cache_frames", r"integer >= 2"]),
    ("cache_frames-none", lambda d: dict(clip=A, cache_frames=None), [r"cache_frames", r"integer >= 2"]),
    ("cache_frames-bool", lambda d: dict(clip=A, cache_frames=True), [r"cache_frames", r"integer >= 2"]),
]


def check_message(err: vs.Error, patterns: list[str]) -> str:
    msg = str(err)
    assert msg.startswith("rife: "), msg
    for pat in patterns:
        assert re.search(pat, msg), f"{pat!r} not in {msg!r}"
    assert "Traceback" not in msg
    return msg


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, wdir):
    _, make, patterns = case
    kwargs = make(wdir)
    with pytest.raises(vs.Error) as info:
        vsrife.rife(**kwargs)
    check_message(info.value, patterns)


def test_every_parameter_has_a_bad_value_case(wdir):
    """Each parameter of rife() (but the clip's own) appears, with a bad value, in a case of CASES that names it."""
    params = [p for p in inspect.signature(vsrife.rife).parameters]
    named = {p for name, make, patterns in CASES for p in make(wdir) if p == name.split("-")[0]}
    assert [p for p in params if p not in named] == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda(device):
    with pytest.raises(vs.Error) as info:
        vsrife.rife(A, device=device)
    check_message(info.value, [rf"device='{device}'", r"CUDA is not available", r"use 'cpu'"])


def test_model_not_downloaded(tmp_path, monkeypatch):
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("VSRIFE_MODEL_DIR", str(empty))
    for name in ("4.0", "4.22.lite", "3.6"):
        with pytest.raises(vs.Error) as info:
            vsrife.rife(A, model=name)
        check_message(info.value, [r"\bmodel\b", rf"{re.escape(name)} is not installed",
                                   rf"`python -m vsrife download {re.escape(name)}`", r"auto_download=True"])
    assert list(empty.iterdir()) == []  # nothing was fetched or written


def test_zero_frames_cannot_exist():
    """VapourSynth refuses 0-frame clips itself, so rife() never gets one."""
    with pytest.raises(vs.Error, match="length"):
        core.std.BlankClip(length=0)


def test_one_frame_clip_gives_copies(fake_model):
    src = textured(n=1)
    want = planes(src.get_frame(0))
    for num, den, n_out in ((2, 1, 2), (5, 2, 3), (1, 2, 1)):
        out = vsrife.rife(src, model="fake", factor_num=num, factor_den=den)
        assert out.num_frames == n_out
        for n in range(n_out):
            assert all(np.array_equal(a, b) for a, b in zip(planes(out.get_frame(n)), want))
    out = vsrife.rife(src, model="fake", dedup=True)
    assert out.num_frames == 2
    assert all(np.array_equal(a, b) for a, b in zip(planes(out.get_frame(1)), want))
    assert not any(c[0] == "forward" for m in fake_model for c in m.calls)  # nothing was interpolated


def test_two_frame_clip(fake_model):
    src = textured(n=2)
    f0, f1 = planes(src.get_frame(0)), planes(src.get_frame(1))
    out = vsrife.rife(src, model="fake", sc=False)
    assert out.num_frames == 4
    got = [planes(out.get_frame(n)) for n in range(4)]
    same = lambda x, y: all(np.array_equal(a, b) for a, b in zip(x, y))  # noqa: E731
    assert same(got[0], f0) and same(got[2], f1) and same(got[3], f1)
    assert not same(got[1], f0) and not same(got[1], f1)


def test_frame_time_errors_are_vs_errors(fake_model):
    """A frame whose props ask for an unsupported conversion fails at frame time with a vs.Error naming it."""
    src = core.std.SetFrameProps(textured(n=3), _Matrix=8)   # YCgCo: not supported
    out = vsrife.rife(src, model="fake", sc=False)
    with pytest.raises(vs.Error, match=r"rife: frame 0: _Matrix=8 is not supported \(supported: \[1, 4, 5"):
        out.get_frame(1)


# --------------------------------------------------------------------------------------------------------------------
# Hostile weights


class _Payload:
    """Unpickling this calls open(path, "w"): it creates the file. A stand-in for arbitrary code execution."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _hostile_files(d: Path, sentinel: Path) -> list[Path]:
    files = []
    p = d / "raw_pickle.pkl"          # a plain pickle (what pickle.dump writes)
    p.write_bytes(pickle.dumps(_Payload(sentinel), protocol=2))
    files.append(p)
    p = d / "torch_zip.pth"           # torch.save of the object (zip container)
    torch.save(_Payload(sentinel), p)
    files.append(p)
    p = d / "flownet_v4.0.pkl"        # looks like a state dict, one value is the payload
    sd = models.create_model("4.0").state_dict()
    sd["block0.conv0.0.0.weight"] = _Payload(sentinel)   # type: ignore[assignment]
    torch.save(sd, p)
    files.append(p)
    p = d / "legacy.pkl"              # torch.save's legacy (non-zip) format
    torch.save({"w": torch.zeros(2), "x": _Payload(sentinel)}, p, _use_new_zipfile_serialization=False)
    files.append(p)
    return files


def test_hostile_pickle_is_refused(tmp_path):
    # the payload is live: a plain unpickle does create its file
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Payload(control))).close()
    assert control.exists()

    sentinel = tmp_path / "PWNED"
    for path in _hostile_files(tmp_path, sentinel):
        with pytest.raises(vs.Error) as info:
            vsrife.rife(A, model_path=str(path))
        msg = check_message(info.value, [r"model_path", re.escape(path.name)])
        assert re.search(r"not unpickled|not a plain state dict|safe loader", msg), msg
        assert not sentinel.exists(), f"{path.name} ran code"
    assert not sentinel.exists()


def test_hostile_pickle_message_names_the_refused_object_and_never_suggests_unsafe_loading(tmp_path):
    p = _hostile_files(tmp_path, tmp_path / "PWNED")[0]
    with pytest.raises(vs.Error) as info:
        vsrife.rife(A, model_path=str(p))
    msg = str(info.value)
    assert "weights_only" not in msg and "will likely succeed" not in msg, msg
    assert re.search(r"Unsupported global.*open", msg), msg


def test_hostile_pickle_buffer_is_not_loaded_via_torch_fallback(tmp_path):
    """Even the weights module's own loader refuses it (rife() relies on it)."""
    from vsrife import weights

    sentinel = tmp_path / "PWNED"
    buf = io.BytesIO()
    torch.save(_Payload(sentinel), buf)
    p = tmp_path / "x.pt"
    p.write_bytes(buf.getvalue())
    with pytest.raises(weights.WeightsError):
        weights.load_state_dict(p)
    assert not sentinel.exists()
