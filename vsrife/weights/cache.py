"""The weights cache: where a model's file lives, whether it is there, and its sha256.

The cache directory is :func:`vsrife.paths.model_dir` (``$VSRIFE_MODEL_DIR`` or the user cache directory).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .. import models as _models
from ..paths import ENV_MODEL_DIR, model_dir

__all__ = ["ENV_MODEL_DIR", "model_dir", "model_path", "installed", "is_installed", "sha256_file"]


def model_path(name: str) -> Path:
    """Where the weights of model ``name`` are cached (whether or not they are there)."""
    return model_dir() / _models.get_spec(name).filename


def installed(path: Path) -> bool:
    """Whether ``path`` is a non-empty file (an empty one is an interrupted download or a placeholder)."""
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def is_installed(name: str) -> bool:
    """Whether the weights of model ``name`` are in the cache."""
    return installed(model_path(name))


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
