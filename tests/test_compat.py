"""vs-rife 5.x compatibility pieces that need no reference: device_index, the trt_* settings and the TensorRT path up
to the point where a GPU is needed, the distribution check, and the bare ``python -m vsrife``."""
from __future__ import annotations

import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest
import torch
import vapoursynth as vs

import vsrife
from oracle_runner import random_state_dict
from vsrife import compat, distribution, trt
from vsrife.engine import Engine, EngineError

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = dict(static_shape=True, min_shape=[128, 128], opt_shape=[1920, 1080], max_shape=[1920, 1080],
                workspace_size=0, max_aux_streams=None, optimization_level=None, cache_dir=None)


def settings(**kw) -> compat.TrtOptions:
    return compat.check_trt_settings(**{**DEFAULTS, **kw})


# ---- device_index ---------------------------------------------------------------------------------------------
def test_device_index():
    assert compat.resolve_devices(None, None) == [None]
    assert compat.resolve_devices(None, "cpu") == ["cpu"]
    assert compat.resolve_devices(1, None) == ["cuda:1"]
    assert compat.resolve_devices([0, 2], None) == ["cuda:0", "cuda:2"]
    for bad, text in (("4.0", "the model is the third positional parameter"), (-1, "int >= 0"), ([], "non-empty"),
                      ([0, 0], "twice"), (True, "int >= 0")):
        with pytest.raises(compat.CompatError, match=text):
            compat.resolve_devices(bad, None)
    with pytest.raises(compat.CompatError, match="not both"):
        compat.resolve_devices(0, "cpu")


# ---- trt_* settings -------------------------------------------------------------------------------------------
def test_trt_settings_valid():
    o = settings(static_shape=False, min_shape=[64, 64], opt_shape=(640, 360), max_shape=[1920, 1088],
                 workspace_size=1 << 30, max_aux_streams=0, optimization_level=5, cache_dir="~/trt")
    assert (o.min_shape, o.opt_shape, o.max_shape) == ((64, 64), (640, 360), (1920, 1088))
    assert (o.workspace_size, o.max_aux_streams, o.optimization_level) == (1 << 30, 0, 5)
    assert o.cache_dir == Path("~/trt").expanduser()
    assert compat.trt_options(False, **DEFAULTS) is None  # trt=False: the settings are not used, as in vs-rife


@pytest.mark.parametrize("kw,text", [
    ({"min_shape": [128]}, "trt_min_shape must be a list of 2 integers"),
    ({"opt_shape": "1920x1080"}, "trt_opt_shape must be a list of 2 integers"),
    ({"max_shape": [1920, 0]}, "trt_max_shape must be a list of 2 integers >= 1"),
    ({"static_shape": False, "min_shape": [1920, 1080], "max_shape": [128, 128]},
     "trt_min_shape must be less than trt_max_shape"),
    ({"static_shape": False, "min_shape": [128, 128], "opt_shape": [64, 64]}, "trt_opt_shape must lie between"),
    ({"static_shape": 1}, "trt_static_shape must be True or False"),
    ({"workspace_size": -1}, "trt_workspace_size must be an integer >= 0"),
    ({"max_aux_streams": 1.5}, "trt_max_aux_streams must be None"),
    ({"optimization_level": 6}, r"trt_optimization_level must be None \(TensorRT's default, 3\) or an integer 0\.\.5"),
    ({"cache_dir": ""}, "trt_cache_dir must be None"),
])
def test_trt_settings_refused(kw, text):
    with pytest.raises(compat.CompatError, match=text):
        settings(**kw)


def test_trt_true_without_gpu_is_a_loud_error():
    if trt.unavailable() is None:
        pytest.skip("this machine can run TensorRT: the refusal is for machines that cannot")
    with pytest.raises(compat.CompatError, match="trt=True needs an NVIDIA GPU"):
        compat.trt_options(True, **DEFAULTS)
    clip = vs.core.std.BlankClip(format=vs.RGBS, width=64, height=48, length=3)
    with pytest.raises(vs.Error, match=r"^rife: trt=True needs an NVIDIA GPU \(CUDA\) and the torch_tensorrt "
                                       r"package: .*use trt=False"):
        vsrife.rife(clip, trt=True)
    with pytest.raises(compat.CompatError, match="trt_static_shape=False is not supported"):
        compat.trt_options(True, **{**DEFAULTS, "static_shape": False})


# ---- the TensorRT path up to the GPU --------------------------------------------------------------------------
def test_shape_plans():
    static = trt.plan_shapes(settings(), 1920, 1080, 64)
    assert static.static and static.opt_hw == (1088, 1920) and static.tag() == "1920x1088"
    dyn = trt.plan_shapes(settings(static_shape=False, min_shape=[100, 100], opt_shape=[1280, 720],
                                   max_shape=[1920, 1080]), 1280, 720, 32)
    assert (dyn.min_hw, dyn.opt_hw, dyn.max_hw) == ((128, 128), (736, 1280), (1088, 1920))
    assert dyn.tag() == "min-128x128_opt-1280x736_max-1920x1088"  # vs-rife 5.x's naming (rounded up)
    with pytest.raises(trt.TrtError, match="padded size 3840x2176 .* lies outside"):
        trt.plan_shapes(settings(static_shape=False), 3840, 2160, 64)


def test_models_refused_for_trt():
    from vsrife.models import get_spec

    for name, text in (("4.0", "branches on the frames' content"), ("4.1", "branches"), ("3.6", "family hd")):
        with pytest.raises(trt.TrtError, match=text):
            trt.check_model(get_spec(name))
    trt.check_model(get_spec("4.6"))


def test_compile_settings_and_engine_names(tmp_path):
    o = settings(workspace_size=1 << 28, max_aux_streams=2, optimization_level=4, cache_dir=tmp_path)
    kw = trt.compile_settings(o, torch.device("cuda", 1))
    assert kw == {"device": torch.device("cuda", 1), "num_avg_timing_iters": 4, "workspace_size": 1 << 28,
                  "min_block_size": 1, "max_aux_streams": 2, "optimization_level": 4, "use_explicit_typing": True}
    plan = trt.plan_shapes(o, 1920, 1080, 64)
    common = dict(model_name="4.26", digest="0123456789abcdef", plan=plan, dtype=torch.float16, scale=0.5,
                  ensemble=False, device_name="NVIDIA GeForce RTX 4090", trt_version="10.14.1", opts=o)
    p = trt.engine_path(tmp_path, part="flow", **common)
    assert p.parent == tmp_path
    assert p.name == (f"flownet_v4.26-0123456789abcdef_1920x1088_fp16_scale-0.5_ensemble-False_NVIDIA_GeForce_RTX_4090"
                      f"_trt-10.14.1_workspace-268435456_aux-2_level-4_vsrife-{vsrife.__version__}.flow.ts")
    names = {p.name, trt.engine_path(tmp_path, part="encode", **common).name,
             trt.engine_path(tmp_path, part="flow", **{**common, "dtype": torch.float32}).name,
             trt.engine_path(tmp_path, part="flow", **{**common, "digest": "f" * 16}).name,
             trt.engine_path(tmp_path, part="flow", **{**common, "opts": settings()}).name}
    assert len(names) == 5  # every setting an engine depends on is in its name
    assert trt.default_cache_dir().name == "trt"


def _net(name: str, seed: int):
    from vsrife.models import create_model

    m = create_model(name)
    m.load_state_dict(random_state_dict({k: tuple(v.shape) for k, v in m.state_dict().items()}, seed))
    m.eval().fast = False
    return m


def test_example_inputs_dynamic():
    o = settings(static_shape=False, min_shape=[64, 64], opt_shape=[96, 64], max_shape=[256, 256])
    plan = trt.plan_shapes(o, 90, 60, 32)
    flow, dyn, enc, enc_dyn = trt.example_inputs(plan, torch.float16, torch.device("cpu"), 8)
    assert [tuple(t.shape) for t in flow] == [(1, 3, 64, 96), (1, 3, 64, 96), (1, 1, 1, 1), (1, 8, 64, 96),
                                              (1, 8, 64, 96)]
    assert all(t.dtype == torch.float16 for t in flow) and tuple(enc[0].shape) == (1, 3, 64, 96)
    assert set(dyn) == {"img0", "img1", "timestep", "f0", "f1"} and dyn["timestep"] == {}
    assert set(dyn["img0"]) == {2, 3} and len(enc_dyn) == 1


class _FakeTorchTensorRT(types.ModuleType):
    """Stands in for torch_tensorrt on the CPU: ``dynamo.compile`` returns the exported program's module (records its
    arguments), ``save`` writes it as TorchScript (what the real one writes with output_format="torchscript")."""

    def __init__(self) -> None:
        super().__init__("torch_tensorrt")
        self.compiled: list[dict] = []
        self.dynamo = types.SimpleNamespace(compile=self._compile)

    def _compile(self, program, inputs, **kw):
        assert isinstance(program, torch.export.ExportedProgram)
        self.compiled.append(kw)
        return program.module()

    def save(self, module, path, *, output_format, inputs):
        assert output_format == "torchscript"
        torch.jit.save(torch.jit.trace(module, tuple(inputs), check_trace=False), path)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize("name", ["4.6", "4.22"])
def test_export_compile_save_load(tmp_path, monkeypatch, name):
    """Our networks export with torch.export (static shape), go through the compile call with vs-rife's settings,
    are saved whole into the cache and loaded from it the second time, and compute what the network computes."""
    fake = _FakeTorchTensorRT()
    monkeypatch.setitem(sys.modules, "torch_tensorrt", fake)
    torch.manual_seed(0)
    net = _net(name, 5)
    o = settings(cache_dir=tmp_path, optimization_level=1)
    plan = trt.plan_shapes(o, 90, 60, net.spec.pad_multiple(1.0))
    feat = net.encode(torch.zeros(1, 3, *plan.opt_hw)).shape[1] if net.spec.has_encoder else None
    flow_in, flow_dyn, enc_in, enc_dyn = trt.example_inputs(plan, torch.float32, torch.device("cpu"), feat)
    path = tmp_path / "x.flow.ts"
    kw = trt.compile_settings(o, torch.device("cpu"))
    with torch.no_grad():
        flow_in = (torch.rand_like(flow_in[0]), torch.rand_like(flow_in[1]), flow_in[2])
        if enc_in:
            flow_in = (*flow_in, net.encode(flow_in[0]), net.encode(flow_in[1]))
        engine = trt.build_or_load(path, trt.FlowModule(net, 1.0, False).eval(), flow_in, flow_dyn, kw)
        assert path.is_file() and not list(tmp_path.glob("*.part"))
        assert fake.compiled == [kw]
        want = net(*flow_in[:2], 0.5, *flow_in[3:])
        assert (engine(*flow_in) - want).abs().max().item() <= 1e-5
        again = trt.build_or_load(path, trt.FlowModule(net, 1.0, False).eval(), flow_in, flow_dyn, kw)
        assert len(fake.compiled) == 1  # loaded from the cache, not built again
        assert torch.equal(again(*flow_in), engine(*flow_in))
        if enc_in:
            enc = trt.build_or_load(tmp_path / "x.encode.ts", net.encode.eval(), enc_in, enc_dyn, kw)
            assert torch.allclose(enc(flow_in[0]), net.encode(flow_in[0]), atol=1e-6)


def test_failed_build_leaves_no_file(tmp_path, monkeypatch):
    fake = _FakeTorchTensorRT()

    def broken_save(module, path, **kw):
        Path(path).write_bytes(b"half an engine")
        raise RuntimeError("out of GPU memory while serialising")

    fake.save = broken_save
    monkeypatch.setitem(sys.modules, "torch_tensorrt", fake)
    net = _net("4.6", 6)
    plan = trt.plan_shapes(settings(), 64, 64, 32)
    flow_in, *_ = trt.example_inputs(plan, torch.float32, torch.device("cpu"), None)
    with pytest.raises(RuntimeError, match="serialising"), torch.no_grad():
        trt.build_or_load(tmp_path / "e.ts", trt.FlowModule(net, 1.0, False), flow_in, None, {})
    assert list(tmp_path.iterdir()) == []


def test_engine_refuses_trt_on_cpu():
    from vsrife.color import PlaneFormat

    fmt = PlaneFormat.from_vs(vs.core.get_video_format(vs.RGBS))
    with pytest.raises(EngineError, match="trt=True runs on NVIDIA GPUs only, not on device 'cpu'"):
        Engine(_net("4.6", 7), fmt=fmt, width=64, height=48, device=torch.device("cpu"), dtype=torch.float32,
               trt=settings())
    with pytest.raises(EngineError, match="not supported by model '4.0'"):
        Engine(_net("4.0", 7), fmt=fmt, width=64, height=48, device=torch.device("cpu"), dtype=torch.float32,
               trt=settings())


def test_trt_model_stands_in_for_the_network():
    """TrtModel calls the compiled parts the way the engine calls the network."""
    calls = []
    flow = lambda *a: calls.append(tuple(x.shape for x in a)) or a[0] * 0 + 0.25  # noqa: E731
    enc = lambda img: img[:, :2] * 2  # noqa: E731
    from vsrife.models import get_spec

    m = trt.TrtModel(get_spec("4.22"), flow, enc, torch.float32, 1.0, False, [])
    img = torch.ones(1, 3, 32, 32)
    out = m(img, img, 0.75, None, None, scale=1.0, ensemble=False)
    assert calls == [((1, 3, 32, 32), (1, 3, 32, 32), (1, 1, 1, 1), (1, 2, 32, 32), (1, 2, 32, 32))]
    assert torch.all(out == 0.25)
    with pytest.raises(trt.TrtError, match="built for scale=1.0"):
        m(img, img, 0.5, scale=0.5)


# ---- distributions --------------------------------------------------------------------------------------------
def _fake_dist(root: Path, name: str = "vsrife", version: str = "5.7.0", top_level: bool = False) -> Path:
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"vsrife/__init__.py,,\nvsrife/__main__.py,,\n{info.name}/METADATA,,\n")
    if top_level:
        (info / "top_level.txt").write_text("vsrife\n")
    return info


def test_distribution_check_warns_once_naming_both(tmp_path, monkeypatch):
    assert distribution.conflicts() == [], "this environment already has a second vsrife provider"
    _fake_dist(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(distribution, "_checked", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = distribution.check()
        distribution.check()  # once per process
    assert [p.name for p in found] == ["vsrife"]
    msgs = [str(w.message) for w in caught if issubclass(w.category, distribution.DistributionConflictWarning)]
    assert len(msgs) == 1
    assert "vapoursynth-rife" in msgs[0] and "vsrife 5.7.0 (HolyWu's vs-rife" in msgs[0]
    assert "pip uninstall vsrife" in msgs[0]


def test_distribution_providers(tmp_path):
    _fake_dist(tmp_path / "a")
    _fake_dist(tmp_path / "b", "other-pkg", "1.0", top_level=True)
    _fake_dist(tmp_path / "c", "vapoursynth-rife", "0.1.0")
    (tmp_path / "d" / "unrelated-2.0.dist-info").mkdir(parents=True)
    (tmp_path / "d" / "unrelated-2.0.dist-info" / "METADATA").write_text("Name: unrelated\nVersion: 2.0\n")
    path = [str(tmp_path / x) for x in "abcd"]
    assert sorted(p.name for p in distribution.providers(path)) == ["other-pkg", "vapoursynth-rife", "vsrife"]
    assert sorted(p.name for p in distribution.conflicts(path)) == ["other-pkg", "vsrife"]


def test_no_warning_in_this_environment():
    """Our own install (and a stale one of this checkout under the old name) never counts as a conflict."""
    code = "import warnings; warnings.simplefilter('error'); import vsrife; print(vsrife.__file__)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(REPO / "vsrife" / "__init__.py")


# ---- python -m vsrife -----------------------------------------------------------------------------------------
def test_bare_module_downloads_every_model(monkeypatch, capsys):
    from vsrife import __main__ as cli
    from vsrife import models, weights

    got = []
    monkeypatch.setattr(weights, "download", lambda name, **kw: got.append(name) or Path(f"/c/{name}"))
    assert cli.main([]) == 0
    assert got == list(models.MODEL_NAMES)
    assert "downloading every model" in capsys.readouterr().err

