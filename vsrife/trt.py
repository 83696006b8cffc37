"""The TensorRT path (``rife(..., trt=True)``): vs-rife 5.x's settings -> a network compiled by ``torch_tensorrt``.

In: a loaded RIFE network (:class:`vsrife.models.RifeModel`, v4 family), the validated
:class:`vsrife.compat.TrtOptions`, the clip geometry, dtype and CUDA device. Out: :class:`TrtModel`, which the engine
calls exactly like the network (``model(img0, img1, t, f0, f1, scale=, ensemble=)`` and ``model.encode(img)``).

As in vs-rife 5.x, the flow network and (v4.7+) the feature encoder are each exported with ``torch.export``,
compiled by ``torch_tensorrt.dynamo.compile`` (``min_block_size=1``, ``use_explicit_typing=True``, 4 timing
iterations, the workspace / aux-stream / optimisation-level settings) and saved as TorchScript into
``trt_cache_dir``; a later run with the same settings loads the saved engine instead of building it again. Engine
files are named after everything they depend on (:func:`engine_path`) and written whole (a temporary file renamed
into place), so an interrupted build never leaves a file that a later run would load.

Everything up to the compile call runs without a GPU (settings, shapes, names, the export itself); the compile and
the engines need an NVIDIA GPU and ``torch_tensorrt``. This module imports neither at import time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .compat import TrtOptions

__all__ = ["TrtError", "unavailable", "ShapePlan", "plan_shapes", "check_shapes", "check_model", "export",
           "compile_settings", "engine_path", "default_cache_dir", "weights_digest", "FlowModule", "example_inputs",
           "TrtModel", "build_or_load", "wrap"]

#: Models whose flow network decides at run time, from the data, whether to run again at doubled scales (a
#: data-dependent branch that ``torch.export`` cannot trace); vs-rife 5.x refuses TensorRT for them too.
UNSUPPORTED_MODELS = ("4.0", "4.1")
#: ``torch_tensorrt.dynamo.compile``'s timing iterations per tactic (vs-rife 5.x's value).
TIMING_ITERS = 4
_INPUT_NAMES = ("img0", "img1", "timestep", "f0", "f1")
_EXPORT_LOCK = threading.Lock()
#: Our networks specialise on the frame size while they are traced (``torch.export`` with dynamic height/width
#: fails: "Constraints violated (32*height, 32*width)"), so engines are built for the clip's padded size only.
DYNAMIC_SHAPES = False


class TrtError(ValueError):
    """A TensorRT request that cannot be honoured here (the filter adds the ``rife:`` prefix)."""


def unavailable() -> str | None:
    """Why TensorRT cannot run in this process (``None``: it can): no CUDA device, or no ``torch_tensorrt``."""
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA support"
        return f"CUDA is not available (torch {torch.__version__}, {build}, {torch.cuda.device_count()} GPU(s) seen)"
    for mod, pip_name in (("tensorrt", "tensorrt"), ("torch_tensorrt", "torch-tensorrt")):
        if importlib.util.find_spec(mod) is None:
            return f"the {mod} package is not installed (pip install {pip_name}, built for torch {torch.__version__})"
    return None


@dataclass(frozen=True)
class ShapePlan:
    """The frame sizes (height, width) an engine is built for, all multiples of the model's padding."""

    static: bool
    min_hw: tuple[int, int]
    opt_hw: tuple[int, int]
    max_hw: tuple[int, int]
    multiple: int

    def tag(self) -> str:
        """vs-rife 5.x's size part of an engine file name (``WxH`` or ``min-WxH_opt-WxH_max-WxH``)."""
        wh = lambda hw: f"{hw[1]}x{hw[0]}"  # noqa: E731
        if self.static:
            return wh(self.opt_hw)
        return f"min-{wh(self.min_hw)}_opt-{wh(self.opt_hw)}_max-{wh(self.max_hw)}"


def _round_up(v: int, m: int) -> int:
    return math.ceil(v / m) * m


def plan_shapes(opts: TrtOptions, width: int, height: int, multiple: int) -> ShapePlan:
    """The sizes to build for: the padded clip size (static shapes), or vs-rife's min/opt/max rounded up to
    ``multiple`` (dynamic). A dynamic range that does not hold the padded clip size is refused (vs-rife would build
    an engine and then fail on the first frame)."""
    ph, pw = _round_up(height, multiple), _round_up(width, multiple)
    if opts.static_shape:
        return ShapePlan(True, (ph, pw), (ph, pw), (ph, pw), multiple)
    hw = lambda wh: (_round_up(wh[1], multiple), _round_up(wh[0], multiple))  # noqa: E731
    plan = ShapePlan(False, hw(opts.min_shape), hw(opts.opt_shape), hw(opts.max_shape), multiple)
    if not all(lo <= v <= hi for lo, v, hi in zip(plan.min_hw, (ph, pw), plan.max_hw)):
        raise TrtError(f"trt_static_shape=False: the clip's padded size {pw}x{ph} (multiples of {multiple}) lies "
                       f"outside trt_min_shape..trt_max_shape ({plan.min_hw[1]}x{plan.min_hw[0]}.."
                       f"{plan.max_hw[1]}x{plan.max_hw[0]} after rounding up); widen them or use "
                       f"trt_static_shape=True")
    return plan


def check_shapes(opts: TrtOptions) -> None:
    """Refuse ``trt_static_shape=False`` while our networks cannot be exported with dynamic sizes
    (:data:`DYNAMIC_SHAPES`)."""
    if not opts.static_shape and not DYNAMIC_SHAPES:
        raise TrtError("trt_static_shape=False is not supported: this package's networks cannot be exported with "
                       "dynamic frame sizes yet, so TensorRT engines are built for the clip's padded size; use "
                       "trt_static_shape=True (the default; trt_min/opt/max_shape are then not used, as in vs-rife)")


def check_model(spec: Any) -> None:
    """Refuse networks the TensorRT path cannot export: the HD (3.x) family and the v4 models in
    :data:`UNSUPPORTED_MODELS`."""
    if getattr(spec, "family", None) != "v4":
        raise TrtError(f"trt=True supports the v4 models from 4.2 on, not model {spec.name!r} "
                       f"(family {getattr(spec, 'family', '?')}); use trt=False")
    if spec.name in UNSUPPORTED_MODELS:
        raise TrtError(f"trt=True is not supported by model {spec.name!r} (its flow network branches on the "
                       f"frames' content, which TensorRT cannot compile; vs-rife 5.x refuses it too): use another "
                       f"v4 model such as '4.6' or trt=False")


def compile_settings(opts: TrtOptions, device: torch.device) -> dict[str, Any]:
    """Keyword arguments of ``torch_tensorrt.dynamo.compile`` (besides the program and its inputs), as vs-rife
    5.x passes them."""
    return {
        "device": device,
        "num_avg_timing_iters": TIMING_ITERS,
        "workspace_size": opts.workspace_size,
        "min_block_size": 1,
        "max_aux_streams": opts.max_aux_streams,
        "optimization_level": opts.optimization_level,
        "use_explicit_typing": True,
    }


def default_cache_dir() -> Path:
    """``trt_cache_dir=None``: the ``trt`` folder of the model cache (vs-rife: its package's models folder)."""
    from . import weights

    return weights.model_dir() / "trt"


def weights_digest(model: torch.nn.Module) -> str:
    """First 16 hex digits of a sha256 over the network's parameter names, shapes, dtypes and values (so engines
    of different weight files under one model name never share a file)."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        t = v.detach().to("cpu").contiguous()
        h.update(f"{k}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def engine_path(cache_dir: Path, *, model_name: str, digest: str, plan: ShapePlan, dtype: torch.dtype,
                scale: float, ensemble: bool, device_name: str, trt_version: str, opts: TrtOptions,
                part: str) -> Path:
    """The engine file for one part (``"flow"`` or ``"encode"``): vs-rife 5.x's naming scheme (model, sizes,
    precision, scale, ensemble, GPU name, TensorRT version, the non-default build settings) plus the weights digest
    and this package's version (our networks are not vs-rife's modules: the two never load each other's files)."""
    from .version import __version__

    precision = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float32: "fp32"}.get(dtype, str(dtype))
    name = (f"flownet_v{model_name}-{digest}_{plan.tag()}_{precision}_scale-{scale}_ensemble-{ensemble}"
            f"_{device_name}_trt-{trt_version}"
            + (f"_workspace-{opts.workspace_size}" if opts.workspace_size > 0 else "")
            + (f"_aux-{opts.max_aux_streams}" if opts.max_aux_streams is not None else "")
            + (f"_level-{opts.optimization_level}" if opts.optimization_level is not None else "")
            + f"_vsrife-{__version__}.{part}.ts")
    return Path(cache_dir) / _UNSAFE.sub("_", name)


class FlowModule(torch.nn.Module):
    """The flow network with its scale and ensemble fixed and tensor-only inputs (what ``torch.export`` takes):
    ``forward(img0, img1, timestep[1,1,1,1], f0, f1)`` (``f0``/``f1`` only for models with an encoder)."""

    def __init__(self, model: torch.nn.Module, scale: float, ensemble: bool) -> None:
        super().__init__()
        self.net, self.scale, self.ensemble = model, scale, ensemble

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, timestep: torch.Tensor,
                f0: torch.Tensor | None = None, f1: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(img0, img1, timestep, f0, f1, scale=self.scale, ensemble=self.ensemble)


def example_inputs(plan: ShapePlan, dtype: torch.dtype, device: torch.device, feat_channels: int | None
                   ) -> tuple[tuple[torch.Tensor, ...], dict[str, dict[int, Any]] | None,
                              tuple[torch.Tensor, ...] | None, tuple[dict[int, Any], ...] | None]:
    """Example inputs at the optimal size and ``torch.export`` dynamic shapes (``None`` for static plans):
    ``(flow_inputs, flow_dynamic, encode_inputs, encode_dynamic)``; the encoder's are ``None`` without one.

    Dynamic sizes are multiples of the plan's padding (``Dim * multiple``), as in vs-rife 5.x."""
    h, w = plan.opt_hw
    z = lambda c: torch.zeros((1, c, h, w), dtype=dtype, device=device)  # noqa: E731
    flow_in: tuple[torch.Tensor, ...] = (z(3), z(3), torch.full((1, 1, 1, 1), 0.5, dtype=dtype, device=device))
    enc_in = None
    if feat_channels:
        flow_in += (z(feat_channels), z(feat_channels))
        enc_in = (z(3),)
    if plan.static:
        return flow_in, None, enc_in, None
    m = plan.multiple
    dh = torch.export.Dim("height", min=plan.min_hw[0] // m, max=plan.max_hw[0] // m) * m
    dw = torch.export.Dim("width", min=plan.min_hw[1] // m, max=plan.max_hw[1] // m) * m
    spatial = {2: dh, 3: dw}
    flow_dyn: dict[str, dict[int, Any]] = {n: dict(spatial) for n in _INPUT_NAMES[:len(flow_in)]}
    flow_dyn["timestep"] = {}
    return flow_in, flow_dyn, enc_in, ((dict(spatial),) if enc_in is not None else None)


@contextmanager
def traceable_grids():
    """While exporting: the warp's base grid computed in the graph instead of taken from its process-wide cache
    (a cached tensor made during tracing would be a fake constant; same values as the cache's)."""
    from .models.common import Warper

    original = Warper.__dict__["_grid"]

    def grid(cls, h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        gx = torch.linspace(-1.0, 1.0, w, dtype=torch.float32, device=device).view(1, 1, w).expand(1, h, w)
        gy = torch.linspace(-1.0, 1.0, h, dtype=torch.float32, device=device).view(1, h, 1).expand(1, h, w)
        div = torch.tensor([(w - 1.0) / 2.0, (h - 1.0) / 2.0], dtype=torch.float32, device=device)
        return torch.stack((gx, gy), -1), div

    with _EXPORT_LOCK:
        Warper._grid = classmethod(grid)
        try:
            yield
        finally:
            Warper._grid = original


def export(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], dynamic_shapes: Any = None):
    """``torch.export.export`` of ``module`` (the flow wrapper or an encoder) at ``inputs``; runs on any device."""
    with traceable_grids():
        return torch.export.export(module, inputs, dynamic_shapes=dynamic_shapes)


def _save_whole(path: Path, write: Callable[[str], None]) -> None:
    """Run ``write(tmp_path)`` and rename the finished file to ``path`` (no half-written engine is ever loaded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_or_load(path: Path, module: torch.nn.Module, inputs: tuple[torch.Tensor, ...],
                  dynamic_shapes: Any, settings: dict[str, Any]) -> torch.nn.Module:
    """The engine saved at ``path``, or: export ``module``, compile it with ``torch_tensorrt`` and save it there."""
    if not path.is_file():
        import torch_tensorrt

        program = export(module, inputs, dynamic_shapes)
        compiled = torch_tensorrt.dynamo.compile(program, inputs, **settings)
        _save_whole(path, lambda tmp: torch_tensorrt.save(compiled, tmp, output_format="torchscript",
                                                          inputs=list(inputs)))
    return torch.jit.load(str(path)).eval()


class TrtModel:
    """Stands in for the network inside the engine: the same call and ``encode`` signatures, run by the compiled
    engines. ``scale``/``ensemble`` must be the ones it was built for."""

    def __init__(self, spec: Any, flow: torch.nn.Module, encode: torch.nn.Module | None, dtype: torch.dtype,
                 scale: float, ensemble: bool, paths: list[Path]) -> None:
        self.spec, self.dtype, self.glue_dtype = spec, dtype, dtype
        self._flow, self._encode = flow, encode
        self.scale, self.ensemble, self.paths = scale, ensemble, paths

    def encode(self, img: torch.Tensor) -> torch.Tensor:
        if self._encode is None:
            raise TrtError(f"model {self.spec.name!r} has no feature encoder")
        return self._encode(img.to(self.dtype))

    def __call__(self, img0: torch.Tensor, img1: torch.Tensor, timestep: float | torch.Tensor,
                 feat0: torch.Tensor | None = None, feat1: torch.Tensor | None = None, scale: float = 1.0,
                 ensemble: bool = False) -> torch.Tensor:
        if scale != self.scale or ensemble != self.ensemble:
            raise TrtError(f"engine built for scale={self.scale}, ensemble={self.ensemble}, called with "
                           f"scale={scale}, ensemble={ensemble}")
        t = timestep if isinstance(timestep, torch.Tensor) else torch.tensor(float(timestep))
        t = t.to(device=img0.device, dtype=self.dtype).reshape(1, 1, 1, 1)
        args = [img0.to(self.dtype), img1.to(self.dtype), t]
        if self._encode is not None:
            f0 = self.encode(img0) if feat0 is None else feat0
            f1 = self.encode(img1) if feat1 is None else feat1
            args += [f0.to(self.dtype), f1.to(self.dtype)]
        return self._flow(*args)


def wrap(model: torch.nn.Module, opts: TrtOptions, *, width: int, height: int, device: torch.device,
         dtype: torch.dtype, scale: float, ensemble: bool) -> TrtModel:
    """Build (or load from ``opts.cache_dir``) the engines for ``model`` (already on ``device`` in ``dtype``, on its
    exact path: ``model.fast`` False) and return the stand-in the engine calls."""
    spec = model.spec
    check_shapes(opts)
    check_model(spec)
    if device.type != "cuda":
        raise TrtError(f"trt=True runs on NVIDIA GPUs only, not on device {str(device)!r}")
    reason = unavailable()
    if reason is not None:
        raise TrtError(f"trt=True needs an NVIDIA GPU (CUDA) and the torch_tensorrt package: {reason}")
    import tensorrt

    plan = plan_shapes(opts, width, height, spec.pad_multiple(scale))
    feat_channels = None
    if spec.has_encoder:
        with torch.inference_mode():
            probe = model.encode(torch.zeros((1, 3, *plan.opt_hw), dtype=dtype, device=device))
        feat_channels = int(probe.shape[1])
    flow_in, flow_dyn, enc_in, enc_dyn = example_inputs(plan, dtype, device, feat_channels)
    settings = compile_settings(opts, device)
    common = dict(model_name=spec.name, digest=weights_digest(model), plan=plan, dtype=dtype, scale=scale,
                  ensemble=ensemble, device_name=torch.cuda.get_device_name(device),
                  trt_version=tensorrt.__version__, opts=opts)
    cache = opts.cache_dir if opts.cache_dir is not None else default_cache_dir()
    flow_path = engine_path(cache, part="flow", **common)
    paths = [flow_path]
    flow = build_or_load(flow_path, FlowModule(model, scale, ensemble).eval(), flow_in, flow_dyn, settings)
    encode = None
    if enc_in is not None:
        enc_path = engine_path(cache, part="encode", **common)
        paths.append(enc_path)
        encode = build_or_load(enc_path, model.encode.eval(), enc_in, enc_dyn, settings)
    return TrtModel(spec, flow, encode, dtype, scale, ensemble, paths)
