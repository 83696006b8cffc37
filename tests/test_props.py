"""Frames say what they are (issue 18.3, issue 17.3): Vsrife* props, coded-picture props, debug overlay, devices."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import vapoursynth as vs

import vsrife
from test_filter import noise_clip, planes

core = vs.core

KEPT = dict(_Matrix=6, _Range=0, _Primaries=6, _Transfer=6, _ChromaLocation=0, _SARNum=10,
            _SARDen=11, UserProp=7)


def tagged(n: int = 6, field_based: int = 0) -> vs.VideoNode:
    src = noise_clip(n=n)
    src = core.std.SetFrameProps(src, _PictType="P", _FieldBased=field_based, **KEPT)
    return src


def test_every_frame_says_what_it_is(fake_model):
    src = tagged()
    out = vsrife.rife(src, model="fake", factor_num=5, factor_den=2, sc=False)
    for n in range(out.num_frames):
        p = out.get_frame(n).props
        tau = Fraction(n * 2, 5)
        a = min(int(tau), 5)
        t = tau - a if a < 5 else Fraction(0)
        assert (p["VsrifeSourceA"], p["VsrifeT"], p["VsrifeTNum"], p["VsrifeTDen"]) == \
            (a, float(t), t.numerator, t.denominator), n
        if t == 0:
            assert p["VsrifeMode"] == "copy" and p["VsrifeSourceB"] == a
            assert p["_PictType"] == "P" and p["FrameNo"] == a      # a copy keeps every prop of its source
        else:
            assert p["VsrifeMode"] == "interpolated" and p["VsrifeSourceB"] == a + 1
            assert "_PictType" not in p                              # no longer a coded picture
            assert p["FrameNo"] == a
        for k, v in KEPT.items():
            assert p[k] == v, (n, k)
        assert p["_FieldBased"] == 0                                 # progressive stays true


def test_field_based_is_dropped_from_synthesized_frames_only(fake_model):
    out = vsrife.rife(tagged(field_based=2), model="fake", sc=False)
    assert out.get_frame(0).props["_FieldBased"] == 2                # the copy is the coded picture
    assert "_FieldBased" not in out.get_frame(1).props               # RIFE made a progressive picture


def test_cut_hold_and_dedup_modes(fake_model):
    a = noise_clip(n=4)
    b = core.std.FlipVertical(core.std.FlipHorizontal(noise_clip(n=4)))
    out = vsrife.rife(a + b, model="fake", factor_num=2)
    f = out.get_frame(7)                                             # between 3 (shot A) and 4 (shot B)
    assert f.props["VsrifeMode"] == "cut-hold" and (f.props["VsrifeSourceA"], f.props["VsrifeSourceB"]) == (3, 4)
    assert np.array_equal(planes(f)[0], planes(a.get_frame(3))[0])
    # On twos: each drawing shown twice; dedup spreads the motion over the pair of drawings.
    draw = noise_clip(n=4)
    twos = core.std.Interleave([draw, draw])
    out = vsrife.rife(twos, model="fake", factor_num=2, dedup=True)
    modes = [out.get_frame(n).props["VsrifeMode"] for n in range(out.num_frames)]
    assert "dedup" in modes and "cut-hold" not in modes
    f = out.get_frame(1)                                             # tau 0.5: 1/4 of the way from drawing 0 to 1
    assert (f.props["VsrifeSourceA"], f.props["VsrifeSourceB"], f.props["VsrifeTNum"], f.props["VsrifeTDen"]) == \
        (0, 2, 1, 4)


def test_debug_overlays_the_decision(fake_model):
    src = noise_clip(n=4, w=320, h=144)
    plain = vsrife.rife(src, model="fake", sc=False)
    dbg = vsrife.rife(src, model="fake", sc=False, debug=True)
    assert dbg.format.id == plain.format.id and dbg.num_frames == plain.num_frames and dbg.fps == plain.fps
    for n in (0, 1):
        fp, fd = plain.get_frame(n), dbg.get_frame(n)
        assert fd.props["VsrifeMode"] == fp.props["VsrifeMode"]
        diff = planes(fd)[0] != planes(fp)[0]
        assert diff[:80].any() and not diff[96:].any()              # a few lines of text at the top


def test_device_list_takes_frames_in_turn(fake_model, monkeypatch):
    from vsrife import compat
    from vsrife import engine as engine_mod

    monkeypatch.setattr(compat, "resolve_devices", lambda device_index, device: ["cpu", "cpu"])
    used: list[tuple[int, int]] = []
    real = engine_mod.Engine.interpolate

    def spy(self, a, *rest):
        used.append((id(self), a))
        return real(self, a, *rest)

    monkeypatch.setattr(engine_mod.Engine, "interpolate", spy)
    out = vsrife.rife(noise_clip(n=6), model="fake", factor_num=4, sc=False)
    for n in range(1, out.num_frames - 4):
        if n % 4:
            out.get_frame(n)
    owners = [e for e, _ in used]
    assert len(set(owners)) == 2
    want = [n % 2 for n in range(1, out.num_frames - 4) if n % 4]
    first = owners[0]
    assert [0 if e == first else 1 for e in owners] == [w ^ want[0] for w in want]
    assert len(fake_model) == 1          # one network loaded, copied per device
