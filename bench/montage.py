"""A 30 s montage of real footage: shots joined by hard cuts, fades, dissolves, flashes, holds and a cadence change.

Built at the full rate from the shots of :mod:`transition_set` (played forwards and backwards to reach the length);
the filter's input is every second full-rate frame (24 fps), the full-rate frames are the truth of a 2x output.
Segments (in source frames): shots of 24, fades through black/white of 6 each way, dissolves of 6, flashes of 1-2,
holds (one picture for 8 source frames, a pause), and a passage on twos (each picture for 2 source frames, the
cadence change). Labels per full-rate frame as in :class:`transition_set.Sequence`, plus ``hold`` and ``twos``;
``dups`` holds the source indices that repeat their predecessor.
"""

from __future__ import annotations

from transition_set import BLACK, WHITE, Frame, Sequence, _const, _mix

STEP = 2


def _take(shot: list[Frame], start: int, count: int) -> list[Frame]:
    """``count`` frames from ``start``, bouncing at the shot's ends (forwards, backwards, ...)."""
    n = len(shot)
    out = []
    for i in range(start, start + count):
        k = i % (2 * n - 2)
        out.append(shot[k if k < n else 2 * n - 2 - k])
    return out


def build_montage(shots: dict[str, list[Frame]], seconds: int = 30) -> tuple[Sequence, set[int]]:
    """(the montage, source indices of its duplicate frames). A shot continues where the previous segment left it
    after a fade or dissolve; after a cut the next shot starts at an offset of its own."""
    names = ["pan-bbb", "car", "bbb", "pan-car", "bbb-crop", "car-crop"]
    plan = ["cut", "fade-black", "cut", "hold", "dissolve", "fade-white", "twos", "cut", "flash", "cut",
            "fade-black", "dissolve", "cut", "hold", "fade-white", "twos"]
    s = Sequence("montage")
    dups: set[int] = set()
    seg, tr = 24 * STEP, 6 * STEP
    k, pos = 0, 0
    while len(s.frames) < seconds * 24 * STEP:
        kind = plan[k % len(plan)]
        a, b = shots[names[k % len(names)]], shots[names[(k + 1) % len(names)]]
        body = _take(a, pos, seg + tr)
        nxt = _take(b, 0, tr)
        pos = ((k + 1) * 17) % 40          # where the next shot starts after a cut
        if kind == "cut":
            s.add(body[:seg], "shot")
            s.cut("cut")
        elif kind in ("fade-black", "fade-white"):
            colour = BLACK if kind == "fade-black" else WHITE
            s.add(body[:seg], "shot")
            s.add([_mix(body[seg + i], _const(body[0], colour), (i + 1) / tr) for i in range(tr)], kind)
            s.add([_const(body[0], colour)] * STEP, kind)
            s.add([_mix(nxt[i], _const(body[0], colour), 1 - (i + 1) / tr) for i in range(tr)], kind)
            pos = tr
        elif kind == "dissolve":
            s.add(body[:seg], "shot")
            s.add([_mix(body[seg + i], nxt[i], (i + 1) / (tr + 1)) for i in range(tr)], "dissolve")
            pos = tr
        elif kind == "flash":
            s.add(body[:seg], "shot")
            s.add([_mix(f, _const(f, WHITE), 0.9) for f in body[seg: seg + 2 * STEP]], "flash")
            s.add(body[seg + 2 * STEP: seg + tr], "shot")
            s.cut("cut")
        elif kind == "hold":
            s.add(body[:seg], "shot")
            first = len(s.frames) // STEP
            s.add([body[seg - 1]] * (8 * STEP), "hold")
            dups.update(range(first + 1, first + 8))
            s.cut("cut")
        elif kind == "twos":
            first = len(s.frames) // STEP
            s.add([body[(i // (2 * STEP)) * (2 * STEP)] for i in range(seg)], "twos")
            dups.update(range(first + 1, first + seg // STEP, 2))
            s.cut("cut")
        k += 1
    return s, dups
