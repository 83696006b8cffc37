"""Where vsrife keeps files on disk: the model weights cache and the native kernels' build cache.

``$VSRIFE_MODEL_DIR`` if set, else ``platformdirs.user_cache_dir("vsrife")/models``, holds the weights; the compiled
native kernels go to ``native/`` beside it. Nothing is ever written next to the installed package, and nothing is
created here: callers make the directories they write to.

A leaf module (standard library and ``platformdirs`` only), so every other module may import it.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_MODEL_DIR", "model_dir", "native_dir"]

#: Environment variable: the weights cache directory (default: the user cache directory's ``models``).
ENV_MODEL_DIR = "VSRIFE_MODEL_DIR"


def model_dir() -> Path:
    """The weights cache directory (not created here), read from the environment on every call."""
    env = os.environ.get(ENV_MODEL_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vsrife")) / "models"


def native_dir() -> Path:
    """Where the compiled native kernels are cached: ``native/`` beside :func:`model_dir` (not created here)."""
    return model_dir().parent / "native"
