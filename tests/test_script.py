"""The generated script and the flag checks behind `vsrife video` / `vsrife script` (no frames are made here)."""
from __future__ import annotations

import argparse
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from vsrife.encode import EncodeError, streams_plan
from vsrife.probe import MediaInfo, StreamInfo
from vsrife.script import JobError, add_job_arguments, build_script, job_options, parse_position

INFO = MediaInfo(path=Path("/videos/My Film.mkv"), width=1920, height=1080, rate=Fraction(24000, 1001),
                 avg_rate=Fraction(24000, 1001), vfr=False, video_start=0.0, format_start=0.0, duration=10.0,
                 pix_fmt="yuv420p10le", color_space="bt709", color_range="tv", color_primaries="bt709",
                 color_transfer="bt709", video_index=0,
                 streams=(StreamInfo(0, "video", "h264"), StreamInfo(1, "audio", "flac"),
                          StreamInfo(2, "subtitle", "subrip"), StreamInfo(3, "attachment", "ttf"),
                          StreamInfo(4, "video", "mjpeg", attached_pic=True)), chapters=3)


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_job_arguments(p)
    return p.parse_args(list(argv))


def _compiles(text: str) -> None:
    compile(text, "job.vpy", "exec")


@pytest.mark.parametrize("argv, factor", [
    ([], Fraction(2)), (["--exp", "2"], Fraction(4)), (["--multi", "3"], Fraction(3)),
    (["--fps", "60000/1001"], Fraction(5, 2)), (["--fps", "59.94"], Fraction(5994, 100) / Fraction(24000, 1001)),
    (["--exp", "0"], Fraction(1)),
])
def test_factor(argv, factor):
    assert job_options(_args(*argv), INFO).factor == factor


@pytest.mark.parametrize("argv, message", [
    (["--exp", "1", "--multi", "2"], "--exp and --multi"),
    (["--fps", "50", "--multi", "2"], "--fps sets the rate itself: give --fps or --multi/--exp"),
    (["--fps", "0"], "--fps: must be positive"),
    (["--fps", "x/2"], "--fps: expected N or N/D"),
    (["--multi", "0"], "--multi: expected an integer >= 1"),
    (["--exp", "9"], "--exp: expected 0..6"),
    (["--scale", "3"], "--scale: expected one of 0.25, 0.5, 1, 2, 4, got 3"),
    (["--UHD", "--scale", "2"], "--UHD means --scale 0.5"),
    (["--start", "1:xx"], "--start: expected a source frame number"),
    (["--start", "50", "--end", "2s"], "--end (2s) must come after --start (50)"),
])
def test_flag_errors(argv, message):
    with pytest.raises(JobError, match=re.escape(message)):
        job_options(_args(*argv), INFO)


def test_positions():
    r = Fraction(24000, 1001)
    assert parse_position("123", r, "--start") == 123
    assert parse_position("10s", r, "--start") == 239            # 10 s * 23.976 = 239.76 -> frame 239
    assert parse_position("1:00", r, "--start") == 1438
    assert parse_position("0:01:00.5", r, "--end") == 1450
    assert job_options(_args("--UHD"), INFO).scale == 0.5


def test_script_text():
    opts = job_options(_args("--fps", "60000/1001", "--start", "10", "--end", "58", "--model", "4.6", "--dedup",
                             "--no-sc", "--precision", "bf16", "--device", "cpu", "--scale", "0.5"), INFO)
    text = build_script(opts, INFO, "vspipe ... | ffmpeg ...")
    _compiles(text)
    assert "src = core.bs.VideoSource('/videos/My Film.mkv')" in text
    assert "core.std.AssumeFPS(src, fpsnum=24000, fpsden=1001)" in text
    assert "src = src[10:59]" in text and "clip = clip[:math.ceil(48 * 5 / 2)]" in text
    assert ("clip = vsrife.rife(src, model='4.6', factor_num=5, factor_den=2, scale=0.5, sc=False, dedup=True, "
            "device='cpu', precision='bf16', num_threads=threads)") in text
    assert "#   vspipe ... | ffmpeg ..." in text


def test_script_vfr_montage_png():
    vfr = replace(INFO, vfr=True, rate=Fraction(30), avg_rate=Fraction(24))
    text = build_script(job_options(_args("--montage"), vfr, png=True), vfr)
    _compiles(text)
    assert "core.bs.VideoSource('/videos/My Film.mkv', fpsnum=30, fpsden=1)" in text
    assert "AssumeFPS" not in text
    assert "core.std.StackHorizontal" in text and "lambda n: src[min(n * 1 // 2" in text
    assert "matrix_in_s='709', range_in_s='limited'" in text


def test_streams_plan_keeps_everything():
    plan = streams_plan(INFO, "mkv", 0, None, INFO.rate)
    m = plan.map_args
    assert m[:8] == ["-map", "0:v:0", "-map", "1:1", "-map", "1:2", "-map", "1:3"]   # cover art (4) is not video
    assert ["-map_chapters", "1"] == m[m.index("-map_chapters"):m.index("-map_chapters") + 2]
    for out_i, in_i in enumerate([0, 1, 2, 3]):
        assert f"-map_metadata:s:{out_i}" in m and m[m.index(f"-map_metadata:s:{out_i}") + 1] == f"1:s:{in_i}"
    assert plan.notes == [] and plan.input_args == ["-i", "/videos/My Film.mkv"]


def test_streams_plan_mp4_and_range():
    plan = streams_plan(INFO, "mp4", 24, 48, INFO.rate)
    assert plan.input_args[:4] == ["-ss", "1.001000", "-t", "1.001000"]
    assert "mov_text" in plan.map_args and "1:3" not in plan.map_args
    assert any("attachment" in n for n in plan.notes) and any("mov_text" in n for n in plan.notes)
    pgs = replace(INFO, streams=INFO.streams[:2] + (StreamInfo(2, "subtitle", "hdmv_pgs_subtitle"),))
    with pytest.raises(EncodeError, match="--ext mp4: cannot hold the hdmv_pgs_subtitle subtitles"):
        streams_plan(pgs, "mp4", 0, None, INFO.rate)
    late = replace(INFO, video_start=0.5, format_start=0.1)
    assert streams_plan(late, "mkv", 0, None, INFO.rate).offset == pytest.approx(0.4)


def test_fade_flag_follows_rife():
    """--fade/--no-fade exist because rife() takes ``fade``; without either, rife()'s own default is used."""
    assert job_options(_args(), INFO).fade is None
    text = build_script(job_options(_args("--no-fade"), INFO), INFO)
    assert "fade=False" in text
    assert "fade=" not in build_script(job_options(_args(), INFO), INFO)

