"""The weights a ``rife()`` call uses: a user's file (architecture detected) or the cached model (downloaded first
when asked)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .. import models as _models
from .cache import installed, model_dir
from .errors import WeightsError
from .install import download
from .load import load_state_dict
from .transport import short
from .verify import check_architecture

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["resolve_weights"]


def resolve_weights(model: str | None, model_path: str | os.PathLike | None,
                    auto_download: bool) -> tuple[str, dict[str, Tensor]]:
    """Find and load the weights for a filter call; return ``(model name, cleaned state dict)``.

    With ``model_path`` the file's architecture is detected; ``model`` is kept when it is one of the detected
    candidates (same-shape versions such as 4.25/4.26 can only be told apart by name), else the best detected name
    is used. Without it, the cached weights of ``model`` (default: the default model) are used, downloaded first
    when ``auto_download`` is true. Raises WeightsError (or UnknownModelError for an unknown ``model``).
    """
    if model_path is not None:
        p = Path(model_path).expanduser()
        cleaned = _models.clean_state_dict(load_state_dict(p))
        try:
            det = _models.detect_architecture(cleaned, p.name)
        except ValueError as e:
            raise WeightsError(f"{p}: {short(e)}") from None
        chosen = model if model is not None and model in det.names else det.best
        return chosen, cleaned

    if model is None:
        model = _models.DEFAULT_MODEL
    spec = _models.get_spec(model)
    path = model_dir() / spec.filename
    if not installed(path):
        if not auto_download:
            raise WeightsError(
                f"RIFE model {spec.name} is not installed (looked for {path}); download it with "
                f"`python -m vsrife download {spec.name}` or pass auto_download=True"
            )
        path = download(spec.name)
    raw = load_state_dict(path)
    try:
        check_architecture(spec.name, raw, path.name)
    except WeightsError as e:
        raise WeightsError(f"{path}: {e}; delete it and download it again "
                           f"(`python -m vsrife download --force {spec.name}`)") from None
    return spec.name, _models.clean_state_dict(raw)
