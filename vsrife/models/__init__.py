"""RIFE flow networks: the HD v3.6 model and every Practical-RIFE v4 release in vs-rife 5.7.

Public API::

    MODEL_NAMES, DEFAULT_MODEL, get_spec(name) -> ModelSpec, UnknownModelError
    clean_state_dict(sd), detect_architecture(sd, filename) -> Detection, ArchitectureError
    create_model(name, state_dict=None) -> RifeModel

A :class:`RifeModel` is an ``nn.Module`` with ``spec``, ``encode(img)`` (per-source-frame features, None for models
without an encoder) and ``forward(img0, img1, timestep, feat0=None, feat1=None, scale=1.0, ensemble=False)``.
Inputs are [N,3,H,W] in [0,1] with H and W multiples of ``spec.pad_multiple(scale)``. Parameter names equal those of
the published weight files (after stripping ``module.``), so they load strictly.
"""
from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from .common import SCALES, RifeModel
from .detect import ArchitectureError, Detection, build_model, clean_state_dict, detect_architecture, parameter_count
from .specs import DEFAULT_MODEL, MODEL_NAMES, ModelSpec, UnknownModelError, get_spec

__all__ = [
    "MODEL_NAMES", "DEFAULT_MODEL", "ModelSpec", "UnknownModelError", "get_spec", "clean_state_dict",
    "detect_architecture", "Detection", "ArchitectureError", "create_model", "RifeModel", "parameter_count",
    "model_table", "SCALES",
]


def create_model(name: str, state_dict: Mapping[str, Tensor] | None = None) -> RifeModel:
    """The network of model ``name`` (fp32, CPU, eval mode).

    ``state_dict`` may carry ``module.`` prefixes and unused teacher/refinement tensors; the rest loads strictly.
    Without it the parameters keep PyTorch's default initialisation.
    """
    model = build_model(get_spec(name))
    if state_dict is not None:
        clean = clean_state_dict(state_dict)
        try:
            model.load_state_dict(clean, strict=True)
        except RuntimeError:
            try:
                found = detect_architecture(clean)
            except ArchitectureError as e:
                raise ArchitectureError(f"weights do not fit model {name}: {e}") from None
            raise ArchitectureError(f"weights do not fit model {name}: they are for {', '.join(found.names)}") from None
    return model.float().eval()


def model_table() -> list[dict[str, object]]:
    """One row per model for documentation: name, group, parameters, blocks, widths, encoder channels, ensemble,
    padding base, arbitrary timestep."""
    rows: list[dict[str, object]] = []
    for name in MODEL_NAMES:
        spec = get_spec(name)
        rows.append({"name": name, "group": spec.group, "params": parameter_count(name), "blocks": spec.blocks,
                     "widths": spec.arch.widths, "encoder_channels": spec.encoder_channels, "ensemble": spec.ensemble,
                     "modulo": spec.modulo, "arbitrary_timestep": spec.arbitrary_timestep})
    return rows
