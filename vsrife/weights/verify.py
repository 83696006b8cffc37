"""Checking that weights are those of the requested model: by sha256 where a source knows it, else by their
architecture (tensor names and shapes, :func:`vsrife.models.detect_architecture`)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import models as _models
from .errors import WeightsError
from .load import read_state_dict
from .sources import Source
from .transport import say, short

if TYPE_CHECKING:
    from ..models import Detection

__all__ = ["check_architecture", "verify_download"]


def check_architecture(name: str, state_dict: Mapping[str, Any], filename: str | None) -> Detection:
    """The Detection of ``state_dict``; raises WeightsError unless it has the architecture of model ``name``."""
    spec = _models.get_spec(name)
    try:
        det = _models.detect_architecture(_models.clean_state_dict(state_dict), filename)
    except ValueError as e:
        raise WeightsError(f"not RIFE {spec.name} weights: {short(e)}") from None
    if spec.name not in det.names and det.group != spec.group:
        raise WeightsError(f"the file holds {det.best} weights (group {det.group}), not {spec.name} "
                           f"(group {spec.group})")
    return det


def verify_download(name: str, source: Source, tmp: Path, digest: str, filename: str, progress: bool) -> None:
    """Raise WeightsError unless the file ``tmp`` (sha256 ``digest``) fetched from ``source`` holds model ``name``:
    by the source's sha256 when it has one, else by loading it safely and checking its architecture."""
    if source.sha256 is not None:
        if digest != source.sha256.lower():
            raise WeightsError(f"sha256 mismatch: expected {source.sha256.lower()}, got {digest}")
        say(progress, f"{filename}: sha256 {digest} (verified)")
        return
    check_architecture(name, read_state_dict(tmp, "the downloaded file"), filename)
    say(progress, f"{filename}: sha256 {digest} (architecture verified)")
