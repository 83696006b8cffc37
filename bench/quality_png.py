"""Pictures for docs/: a minimal RGB24 PNG writer and a labelled grid of Y planes."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import vapoursynth as vs

core = vs.core


def write_png(path: Path, rgb: np.ndarray) -> None:
    """``rgb``: uint8 array [height, width, 3]."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _text(img: np.ndarray, txt: str) -> np.ndarray:
    """``txt`` drawn on a grey uint8 image (core text.Text)."""
    h, w = img.shape
    c = core.std.BlankClip(format=vs.GRAY8, width=w, height=h, length=1)
    c = core.std.ModifyFrame(c, c, lambda n, f: _fill(f, img))
    f = core.text.Text(c, txt, alignment=7).get_frame(0)
    return np.array(f[0], copy=True)


def _fill(f: vs.VideoFrame, img: np.ndarray) -> vs.VideoFrame:
    out = f.copy()
    np.copyto(np.asarray(out[0]), img)
    return out


def grid_png(path: Path, rows: list[tuple[str, list[np.ndarray], list[str]]], mag: int = 1) -> None:
    """One row per entry ``(label, Y planes, captions)``: the label in the first cell's corner, a caption on each."""
    lines = []
    for label, ys, caps in rows:
        cells = []
        for k, (y, cap) in enumerate(zip(ys, caps)):
            img = np.clip(np.rint(y), 0, 255).astype(np.uint8).repeat(mag, 0).repeat(mag, 1)
            img = _text(img, (label + "\n" if k == 0 else "\n") + cap)
            cells += [img, np.full((img.shape[0], 4), 255, np.uint8)]
        lines += [np.concatenate(cells[:-1], axis=1)]
        lines += [np.full((4, lines[-1].shape[1]), 255, np.uint8)]
    grey = np.concatenate(lines[:-1], axis=0)
    write_png(path, np.ascontiguousarray(np.dstack([grey] * 3)))
