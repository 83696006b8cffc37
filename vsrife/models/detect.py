"""State-dict cleaning, model construction and architecture detection from tensor names and shapes."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor

from .common import RifeModel
from .ifnet_hd import IFNetHD
from .ifnet_v4 import IFNetV4
from .specs import GROUP_NAMES, MODEL_NAMES, SPECS, ModelSpec

__all__ = ["clean_state_dict", "build_model", "Detection", "ArchitectureError", "detect_architecture",
           "names_in_filename", "parameter_count"]

#: Top-level modules of published weight files that inference never uses (teacher, refinement net of old scripts).
IGNORED_MODULES = ("block_tea", "contextnet", "unet")


def clean_state_dict(sd: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Strip ``module.`` prefixes (DataParallel) and drop non-tensors and training/refinement-only modules."""
    out: dict[str, Tensor] = {}
    for key, value in sd.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            continue
        while key.startswith("module."):
            key = key[len("module."):]
        if key.split(".", 1)[0] not in IGNORED_MODULES:
            out[key] = value
    return out


def build_model(spec: ModelSpec) -> RifeModel:
    """An uninitialised network for ``spec`` on the current default device."""
    return IFNetHD(spec) if spec.family == "hd" else IFNetV4(spec)


@cache
def _signature(group: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = build_model(SPECS[GROUP_NAMES[group][0]])
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@cache
def parameter_count(name: str) -> int:
    """Number of parameters of the inference network of model ``name``."""
    return sum(_prod(s) for s in _signature(SPECS[name].group).values())


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@dataclass(frozen=True)
class Detection:
    """Result of :func:`detect_architecture`."""

    names: tuple[str, ...]  # every model name whose architecture matches (same code and shapes)
    best: str               # the one to use: named by the file name if it names a candidate, else the newest
    group: str              # the architecture group label
    description: str        # one human-readable sentence on how ``best`` was chosen


class ArchitectureError(ValueError):
    """A state dict that matches no supported RIFE architecture."""


_VERSION = re.compile(r"(?<![\d.])(\d+)[._](\d+)(?:[._ -]?(lite|heavy))?(?![\d])", re.IGNORECASE)


def names_in_filename(filename: str) -> list[str]:
    """Model names mentioned in a file name, in order (e.g. "flownet_v4.22.lite.pkl" -> ["4.22.lite"])."""
    base = os.path.basename(filename)
    found = []
    for m in _VERSION.finditer(base):
        name = f"{int(m[1])}.{int(m[2])}" + (f".{m[3].lower()}" if m[3] else "")
        if name in SPECS and name not in found:
            found.append(name)
    return found


def detect_architecture(sd: Mapping[str, Tensor], filename: str | None = None) -> Detection:
    """Which model(s) a state dict is for, from tensor names and shapes; ``filename`` breaks ties.

    Raises :class:`ArchitectureError` when the tensors match no supported architecture.
    """
    clean = clean_state_dict(sd)
    if not clean:
        raise ArchitectureError("not a RIFE state dict: it holds no tensors"
                                + (f" ({len(sd)} other entries)" if len(sd) else ""))
    sig = {k: tuple(v.shape) for k, v in clean.items()}
    group = next((g for g in GROUP_NAMES if _signature(g) == sig), None)
    if group is None:
        raise ArchitectureError(_mismatch_message(sig))
    names = GROUP_NAMES[group]
    named = names_in_filename(filename) if filename else []
    pick = next((n for n in named if n in names), None)
    others = ", ".join(names)
    if pick is not None:
        why = f"chosen by the file name among {others}" if len(names) > 1 else "matches the file name"
        return Detection(names, pick, group, f"RIFE {pick} ({why})")
    best = names[-1]
    if len(names) == 1:
        why = "identified by its tensor shapes"
    else:
        why = (f"{others} share this architecture and the file name names none of them, so the newest was chosen; "
               "they run the same code, only the trained weights differ")
    if named:
        why += f"; note: the file name suggests {named[0]}, whose architecture differs"
    return Detection(names, best, group, f"RIFE {best} ({why})")


def _mismatch_message(sig: dict[str, tuple[int, ...]]) -> str:
    def score(group: str) -> tuple[int, list[str], list[str], list[str]]:
        ref = _signature(group)
        missing = [k for k in ref if k not in sig]
        extra = [k for k in sig if k not in ref]
        shape = [f"{k} {sig[k]} (expected {ref[k]})" for k in ref if k in sig and sig[k] != ref[k]]
        return len(missing) + len(extra) + len(shape), missing, extra, shape

    scored = {g: score(g) for g in GROUP_NAMES}
    group = min(scored, key=lambda g: scored[g][0])
    total, missing, extra, shape = scored[group]
    n = len(sig)
    if total >= n + len(_signature(group)) - 1 or not any(k.startswith("block0.") for k in sig):
        sample = ", ".join(list(sig)[:3])
        return f"not a RIFE flow-network state dict ({n} tensors, e.g. {sample}); supported: {', '.join(MODEL_NAMES)}"
    parts = [f"{len(lst)} {what}, e.g. {lst[0]}" for lst, what in
             ((missing, "missing"), (extra, "unexpected"), (shape, "with another shape")) if lst]
    return (f"state dict matches no supported RIFE architecture; nearest is {GROUP_NAMES[group][-1]} "
            f"(group {group}): {'; '.join(parts)}")
