"""Loading a weights file into a state dict (a dict of tensors), safely.

PyTorch files (``.pkl``/``.pth``/``.pt``) are read with ``torch.load(weights_only=True, map_location="cpu")``:
pickles holding anything but tensors and plain containers are refused, never executed. ``.safetensors`` files are
read with the ``safetensors`` library. Every failure is a :class:`WeightsError` that names the file and says what it
holds instead (nothing, a web page, a text file, a corrupt archive, Python objects, ...).
"""
from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import WeightsError
from .transport import short

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["load_state_dict", "read_state_dict"]

#: How every PyTorch weights file starts: a zip archive (torch.save since 1.6) or a binary pickle (older files).
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80")


def load_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """The state dict in the file at ``path`` (``~`` expanded); raises WeightsError with a clear message."""
    p = Path(path).expanduser()
    return read_state_dict(p, str(p))


def read_state_dict(p: Path, shown: str) -> dict[str, Tensor]:
    """The state dict in file ``p``, naming it ``shown`` in messages; raises WeightsError."""
    try:
        if not p.exists():
            raise WeightsError(f"weights file not found: {shown}")
        if p.is_dir():
            raise WeightsError(f"{shown} is a directory, not a weights file")
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise WeightsError(f"cannot read {shown}: {e}") from None
    if size == 0:
        raise WeightsError(f"{shown} is empty (0 bytes): an interrupted download or a placeholder; delete it and "
                           "download it again")
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        raise WeightsError(f"{shown} is a web page (HTML/XML), not a weights file")
    if p.suffix.lower() == ".safetensors":
        return as_tensor_dict(_load_safetensors(p, shown, head), shown)
    return as_tensor_dict(_load_torch(p, shown, head), shown)


def _is_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as text (UTF-8 without control characters but tab and newlines)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:  # a multi-byte character cut at the end of the sample is still text
        if e.start < len(head) - 3:
            return False
        text = head[: e.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\r\n\f" for c in text)


def _load_safetensors(path: Path, shown: str, head: bytes) -> dict[str, Tensor]:
    """The tensors of a safetensors file (``head``: its first bytes); raises WeightsError."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as e:
        if _is_text(head):
            raise WeightsError(f"{shown} is a text file, not a safetensors file") from None
        raise WeightsError(f"{shown} is not a readable safetensors file (truncated or corrupt?): "
                           f"{type(e).__name__}: {short(e)}") from None


def _not_torch(shown: str, head: bytes) -> WeightsError | None:
    """The error for a file that does not start like a PyTorch file (said instead of torch's own, e.g. a bare
    ``KeyError``), or None."""
    if head.startswith(_TORCH_MAGIC):
        return None
    what = "a text file" if _is_text(head) else "neither a zip archive nor a pickle"
    return WeightsError(f"{shown} is {what}, not a PyTorch weights file (.pkl/.pth/.pt as saved by torch.save) "
                        "or a .safetensors file")


def _load_torch(p: Path, shown: str, head: bytes) -> Any:
    """What ``torch.load(weights_only=True)`` reads from ``p`` (``head``: its first bytes); raises WeightsError."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        if (error := _not_torch(shown, head)) is not None:
            raise error from None
        raise _torch_error(shown, e) from None


def _torch_error(shown: str, e: Exception) -> WeightsError:
    """The WeightsError for torch.load's exception ``e`` on a file that starts like a PyTorch file."""
    if isinstance(e, pickle.UnpicklingError):
        message = str(e)
        if "Weights only load failed" not in message:
            return WeightsError(f"{shown} is not a readable PyTorch file (truncated or corrupt?): {short(e)}")
        detail = _weights_only_detail(message)
        if detail.startswith("Unsupported operand"):
            return WeightsError(
                f"{shown} is not a PyTorch weights file the safe loader can read ({detail}: a corrupt file, or a "
                "plain pickle that may hold arbitrary Python objects); it was not unpickled, because unpickling "
                "arbitrary objects can run code. Save the model's state_dict() with torch.save instead"
            )
        return WeightsError(
            f"{shown} is not a plain state dict: it contains Python objects the safe loader refuses"
            f"{' (' + detail + ')' if detail else ''}; it was not unpickled, because unpickling arbitrary objects "
            "can run code. Save the model's state_dict() (a dict of tensors) instead"
        )
    return WeightsError(f"{shown} is not a readable PyTorch file (truncated or corrupt?): "
                        f"{type(e).__name__}: {short(e)}")


def _weights_only_detail(message: str) -> str:
    """The line of torch's refusal that says what was refused (never its advice to load unsafely)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("WeightsUnpickler error:"):
            return line.split(":", 1)[1].strip()
    for line in lines[1:]:
        if line.startswith(("Please file", "Check the documentation")) or "weights_only" in line \
                or "likely succeed" in line:
            continue
        return line
    return ""


def as_tensor_dict(obj: Any, path: str) -> dict[str, Tensor]:
    """``obj`` (what a file held) as a dict of tensors, unwrapping common checkpoint wrappers ("state_dict",
    "model", "params_ema", "params"); raises WeightsError naming ``path`` for anything else."""
    import torch

    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model", "params_ema", "params"):  # common checkpoint wrappers
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict (a dict of tensors)")
    if not obj:
        raise WeightsError(f"{path} holds an empty dict, not a state dict")
    for key, value in obj.items():
        if not isinstance(key, str):
            raise WeightsError(f"{path} is not a state dict: it has a non-string key {key!r}")
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{path} is not a state dict of tensors: {key!r} holds a {type(value).__name__}")
    return dict(obj)
