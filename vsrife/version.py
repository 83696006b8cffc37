"""The package version, in a leaf module: ``from .version import __version__`` imports nothing else (``from . import
__version__`` in a submodule would import the package's ``__init__``, an import circle)."""
from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
