"""A labelled set of transitions made from real footage, with the true in-between frames.

Shots are real frames of ``bigbuckbunny.mp4`` and ``carphone_pristine.mp4`` (whole picture, crops, mirrored,
darkened) at ``W x H`` (default 256x144). A sequence is built at the *full* rate, frame by frame, as float
Y/U/V planes, and joined by hard cuts, fades through black or white (linear or eased), cross-dissolves, flashes
(one or two near-white frames), slow exposure changes and very dark passages. The filter's input is every
``step``-th full-rate frame; the full-rate frames are the ground truth of the output (2x: ``step`` 2, output ``n``
is full frame ``n``; 5/2: ``step`` 5, output ``n`` is full frame ``2 n``).

Labels: every full-rate frame has a kind (``shot``, ``fade-black``, ``fade-white``, ``dissolve``, ``flash``,
``exposure``, ``dark``) and every hard cut is recorded by the full-rate index of its first frame, so the labels of
any source pair follow from the two frames' full-rate indices: :meth:`Sequence.pair_labels`.

    from transition_set import load_shots, build_set
    seqs = build_set(load_shots(256, 144))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import vapoursynth as vs

core = vs.core
REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / ".cache" / "samples"

Frame = tuple[np.ndarray, np.ndarray, np.ndarray]   # Y, U, V as float64 in 8-bit code values
BLACK = (16.0, 128.0, 128.0)
WHITE = (235.0, 128.0, 128.0)


def _read(name: str, w: int, h: int, crop: tuple[int, int, int, int] | None = None, mirror: bool = False,
          every: int = 1) -> list[Frame]:
    clip = core.bs.VideoSource(str(SAMPLES / name))
    if crop is not None:
        left, top, cw, ch = crop
        clip = core.std.CropAbs(clip, cw, ch, left, top)
    if mirror:
        clip = core.std.FlipHorizontal(clip)
    clip = core.resize.Bicubic(clip, w, h, format=vs.YUV420P8)
    out = []
    for n in range(0, clip.num_frames, every):
        f = clip.get_frame(n)
        out.append(tuple(np.array(f[p], dtype=np.float64) for p in range(3)))
    return out


def _pan(name: str, index: int, w: int, h: int, count: int, dx: float, dy: float) -> list[Frame]:
    """A camera panning over one real frame: ``dx``/``dy`` output pixels per full-rate frame (sub-pixel exact)."""
    still = core.bs.VideoSource(str(SAMPLES / name))[index]
    sw, sh = still.width * 0.6, still.height * 0.6         # the window: 60 % of the frame
    kx, ky = sw / w, sh / h                                 # source pixels per output pixel
    out = []
    for i in range(count):
        left = still.width * 0.2 + (i - count / 2) * dx * kx
        top = still.height * 0.2 + (i - count / 2) * dy * ky
        f = core.resize.Bicubic(still, w, h, format=vs.YUV420P8, src_left=left, src_top=top, src_width=sw,
                                src_height=sh).get_frame(0)
        out.append(tuple(np.array(f[p], dtype=np.float64) for p in range(3)))
    return out


def load_shots(w: int = 256, h: int = 144) -> dict[str, list[Frame]]:
    """Named shots (lists of full-rate frames): four framings of two real clips, and two slow camera pans over real
    frames (``pan-bbb``, ``pan-car``: 0.8 and 0.6 px per full-rate frame)."""
    return {
        "pan-bbb": _pan("bigbuckbunny.mp4", 30, w, h, 130, 0.8, 0.2),
        "pan-car": _pan("carphone_pristine.mp4", 40, w, h, 120, -0.6, 0.3),
        "bbb": _read("bigbuckbunny.mp4", w, h),
        "bbb-crop": _read("bigbuckbunny.mp4", w, h, crop=(320, 120, 640, 360), mirror=True),
        "car": _read("carphone_pristine.mp4", w, h),
        "car-crop": _read("carphone_pristine.mp4", w, h, crop=(16, 8, 144, 120), mirror=True),
    }


def _mix(a: Frame, b: Frame, w: float) -> Frame:
    return tuple((1 - w) * x + w * y for x, y in zip(a, b))  # type: ignore[return-value]


def _const(like: Frame, value: tuple[float, float, float]) -> Frame:
    return tuple(np.full_like(p, v) for p, v in zip(like, value))  # type: ignore[return-value]


def _gain(f: Frame, g: float) -> Frame:
    """Darken (or brighten) towards/away from black, chroma towards neutral."""
    y, u, v = f
    return (BLACK[0] + (y - BLACK[0]) * g, 128 + (u - 128) * g, 128 + (v - 128) * g)


def _ease(x: float) -> float:
    return x * x * (3 - 2 * x)


@dataclass
class Sequence:
    """Full-rate frames with their labels; ``source(step)`` is what the filter gets."""

    name: str
    frames: list[Frame] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    cuts: set[int] = field(default_factory=set)     # full-rate index of the first frame after each hard cut
    cut_kinds: dict[int, str] = field(default_factory=dict)
    #: fades through a colour: the frames as they would be without the fade (the shots themselves, same length)
    #: and the full-rate index where the second shot's frames begin; empty / 0 for other sequences
    unfaded: list[Frame] = field(default_factory=list)
    second_shot: int = 0

    def add(self, frames: list[Frame], kind: str) -> None:
        self.frames += frames
        self.kinds += [kind] * len(frames)

    def cut(self, kind: str = "cut") -> None:
        self.cuts.add(len(self.frames))
        self.cut_kinds[len(self.frames)] = kind

    def quantised(self) -> list[Frame]:
        return [tuple(np.clip(np.rint(p), 0, 255) for p in f) for f in self.frames]  # type: ignore[misc]

    def pair_labels(self, i0: int, i1: int) -> tuple[bool, str]:
        """(a hard cut lies in (i0, i1], the transition kind of the pair or 'shot'/'dark')."""
        cut = any(i0 < c <= i1 for c in self.cuts)
        kinds = {self.kinds[i] for i in range(i0, i1 + 1)}
        for k in ("flash", "fade-black", "fade-white", "dissolve", "exposure", "dark"):
            if k in kinds:
                return cut, k
        return cut, "shot"

    def cut_kind(self, i0: int, i1: int) -> str:
        return next(self.cut_kinds[c] for c in sorted(self.cuts) if i0 < c <= i1)


def _fade_through(name: str, a: list[Frame], b: list[Frame], colour: tuple[float, float, float], n: int,
                  eased: bool, seg: int, hold: int) -> Sequence:
    """``a`` fades out to ``colour`` over ``n`` full-rate frames, ``hold`` frames of it, ``b`` fades in over ``n``."""
    kind = "fade-black" if colour == BLACK else "fade-white"
    s = Sequence(name)
    s.add(a[:seg], "shot")
    law = _ease if eased else (lambda x: x)
    s.add([_mix(a[seg + i], _const(a[0], colour), law((i + 1) / n)) for i in range(n)], kind)
    s.add([_const(a[0], colour)] * hold, kind)
    s.add([_mix(b[i], _const(b[0], colour), 1 - law((i + 1) / n)) for i in range(n)], kind)
    s.add(b[n: n + seg], "shot")
    s.unfaded, s.second_shot = a[: seg + n + hold] + b[: n + seg], seg + n + hold
    return s


def _dissolve(name: str, a: list[Frame], b: list[Frame], n: int, eased: bool, seg: int) -> Sequence:
    s = Sequence(name)
    s.add(a[:seg], "shot")
    law = _ease if eased else (lambda x: x)
    s.add([_mix(a[seg + i], b[i], law((i + 1) / (n + 1))) for i in range(n)], "dissolve")
    s.add(b[n: n + seg], "shot")
    return s


def _flash(name: str, a: list[Frame], n: int, strength: float, seg: int) -> Sequence:
    s = Sequence(name)
    s.add(a[:seg], "shot")
    s.add([_mix(a[seg + i], _const(a[0], WHITE), strength) for i in range(n)], "flash")
    s.add(a[seg + n: 2 * seg + n], "shot")
    return s


def _cuts(name: str, shots: list[list[Frame]], kind: str, length: int) -> Sequence:
    s = Sequence(name)
    for k, shot in enumerate(shots):
        if k:
            s.cut(kind)
        s.add(shot[:length], "shot")
    return s


def build_set(shots: dict[str, list[Frame]], step: int = 2) -> list[Sequence]:
    """The labelled sequences; lengths are in source frames (``step`` full-rate frames each): shots of 8, fades of
    4-10 each way, dissolves of 6-10, flashes of 1-2 source frames."""
    bbb, bc, car, cc = shots["bbb"], shots["bbb-crop"], shots["car"], shots["car-crop"]
    dark = {k: [_gain(f, 0.3) for f in v] for k, v in shots.items()}
    seg, cut_len = 8 * step, 6 * step
    out = [
        _cuts("cuts", [bbb, car, bc, cc, bbb[60:], car[60:], bbb], "cut", cut_len),
        _cuts("cuts-similar", [bbb, bc, bbb[40:], bc[50:], car, cc, car[50:], cc[40:]], "similar", cut_len),
        _cuts("cuts-dark", [dark["bbb"], dark["car"], dark["bbb-crop"], dark["car-crop"], dark["bbb"][60:],
                            dark["bbb-crop"][50:]], "dark-to-dark", cut_len),
    ]
    pb, pc = shots["pan-bbb"], shots["pan-car"]
    for colour, tag in ((BLACK, "black"), (WHITE, "white")):
        for n, eased in ((6, False), (10, True), (4, False)):
            out.append(_fade_through(f"fade-{tag}-{n}{'-eased' if eased else ''}", bbb, car, colour, n * step,
                                     eased, seg, step))
        out.append(_fade_through(f"fade-{tag}-car-6", cc, bc, colour, 6 * step, False, seg, step))
        out.append(_fade_through(f"fade-{tag}-pan-6", pb, pc, colour, 6 * step, False, seg, step))
        out.append(_fade_through(f"fade-{tag}-pan-10-eased", pc, pb, colour, 10 * step, True, seg, step))
    for n, eased in ((6, False), (10, True)):
        out.append(_dissolve(f"dissolve-{n}{'-eased' if eased else ''}", bbb, car, n * step, eased, seg))
    out.append(_dissolve("dissolve-car-6", cc, bc, 6 * step, False, seg))
    out.append(_dissolve("dissolve-pan-6", pb, pc, 6 * step, False, seg))
    for count, strength, shot in ((1, 0.9, bbb), (2, 0.95, car), (1, 1.0, bc), (2, 0.8, cc)):
        out.append(_flash(f"flash-{count}x{strength:g}", shot, count * step, strength, seg))
    n_exp = min(len(bbb), 24 * step)
    exp = Sequence("exposure")
    exp.add([_gain(bbb[i], 1.0 - 0.5 * i / n_exp) for i in range(n_exp)], "exposure")
    out.append(exp)
    vdark = Sequence("very-dark")
    vdark.add([_gain(f, 0.1) for f in car[: min(len(car), 24 * step)]], "dark")
    out.append(vdark)
    return out


def to_clip(frames: list[Frame], fps: int = 24) -> vs.VideoNode:
    """A YUV420P8 clip of (already quantised) frames."""
    blank = core.std.BlankClip(format=vs.YUV420P8, width=frames[0][0].shape[1], height=frames[0][0].shape[0],
                               length=len(frames), fpsnum=fps, fpsden=1)
    data = [tuple(np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in f) for f in frames]

    def _fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(3):
            np.copyto(np.asarray(out[p]), data[n][p])
        out.props["_Matrix"] = 6
        return out

    return core.std.ModifyFrame(blank, blank, _fill)


def source_indices(seq: Sequence, step: int) -> list[int]:
    """Full-rate indices of the filter's input frames."""
    return list(range(0, len(seq.frames), step))


__all__ = ["Frame", "Sequence", "load_shots", "build_set", "to_clip", "source_indices"]
