"""Which installed distributions provide the import package ``vsrife``, and a warning when ours is not alone.

Our distribution is :data:`DIST_NAME`; its import package is ``vsrife``, the same as HolyWu's vs-rife (PyPI
distribution ``vsrife``). Installed side by side, ``import vsrife`` silently loads whichever comes first on
``sys.path`` while ``pip list`` shows two unrelated names. :func:`check` (called once when ``vsrife`` is imported)
warns, naming both, when a distribution other than ours also provides ``vsrife``.

In: the distributions on ``sys.path`` (or the given ``path``), read through :mod:`importlib.metadata`. Out:
:func:`providers` (name, version, location of each provider) and one :class:`DistributionConflictWarning`.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DIST_NAME", "DistributionConflictWarning", "Provider", "providers", "conflicts", "check"]

#: Our distribution name (``pip install vapoursynth-rife``); the import package stays ``vsrife``.
DIST_NAME = "vapoursynth-rife"
PACKAGE = "vsrife"
_checked = False


class DistributionConflictWarning(UserWarning):
    """Another installed distribution provides the ``vsrife`` import package too."""


@dataclass(frozen=True)
class Provider:
    """One installed distribution that provides ``vsrife``."""

    name: str
    version: str
    location: str  # its metadata folder

    same_tree: bool = False  # metadata of this very source tree under another name (a stale install of ours)

    @property
    def is_ours(self) -> bool:
        return self.same_tree or _normalize(self.name) == _normalize(DIST_NAME)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _provides(dist: md.Distribution, package: str) -> bool:
    """Whether ``dist`` installs the top-level package ``package`` (``top_level.txt``, else its ``RECORD``)."""
    top = dist.read_text("top_level.txt")
    if top is not None:
        return package in top.split()
    record = dist.read_text("RECORD")
    if record is None:
        return False
    needle = f"{package}/__init__.py"
    return record.startswith(needle) or f"\n{needle}" in record


def _tree() -> Path:
    """The folder holding this ``vsrife`` package (a source checkout's root, or site-packages)."""
    return Path(__file__).resolve().parent.parent


def _same_tree(dist: md.Distribution, location: str) -> bool:
    """Whether ``dist`` is metadata of this very copy of ``vsrife``: an ``.egg-info`` next to it (a source tree) or an
    editable install whose ``direct_url.json`` points at the folder holding it."""
    tree = _tree()
    if location and Path(location).resolve().parent == tree and location.endswith(".egg-info"):
        return True
    direct = dist.read_text("direct_url.json") or ""
    m = re.search(r'"url"\s*:\s*"file://([^"]+)"', direct)
    return bool(m) and Path(m[1]).resolve() == tree


def providers(path: Sequence[str] | None = None) -> list[Provider]:
    """Every distribution on ``path`` (default ``sys.path``) that provides ``vsrife``, first on the path first.

    The same distribution found twice (one folder listed twice on the path) counts once."""
    found: list[Provider] = []
    seen: set[tuple[str, str]] = set()
    dists = md.distributions(path=list(path)) if path is not None else md.distributions()
    for dist in dists:
        name = dist.metadata["Name"] if dist.metadata is not None else None
        if not name or not _provides(dist, PACKAGE):
            continue
        location = str(getattr(dist, "_path", "") or "")
        key = (_normalize(name), str(Path(location).resolve()) if location else "")
        if key in seen:
            continue
        seen.add(key)
        found.append(Provider(name, dist.version or "?", location, _same_tree(dist, location)))
    return found


def conflicts(path: Sequence[str] | None = None) -> list[Provider]:
    """The providers of ``vsrife`` that are not our distribution."""
    return [p for p in providers(path) if not p.is_ours]


def _describe(p: Provider) -> str:
    who = "HolyWu's vs-rife" if _normalize(p.name) == "vsrife" else "another package"
    return f"{p.name} {p.version} ({who}, {p.location})"


def check(path: Sequence[str] | None = None, *, once: bool = True) -> list[Provider]:
    """Warn (once per process unless ``once=False``) when another distribution provides ``vsrife``; returns them.

    Never raises: a broken metadata folder must not stop ``import vsrife``."""
    global _checked
    if once and _checked:
        return []
    _checked = True
    try:
        others = conflicts(path)
    except Exception:  # noqa: BLE001 - metadata of third-party packages can be malformed
        return []
    if others:
        here = Path(__file__).resolve().parent
        warnings.warn(
            f"two installed distributions provide the import package 'vsrife': {DIST_NAME} (this vsrife, loaded "
            f"from {here}) and {', '.join(_describe(p) for p in others)}. `import vsrife` loads whichever comes "
            f"first on sys.path; keep one: `pip uninstall {' '.join(sorted({p.name for p in others}))}` "
            f"(scripts written for vs-rife 5.x run on {DIST_NAME} unchanged)",
            DistributionConflictWarning, stacklevel=3)
    return others
