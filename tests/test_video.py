"""`vsrife video`: real files in and out (vspipe, ffmpeg, bestsource, model 4.0 at 160x90), checked with ffprobe."""
from __future__ import annotations

import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from video_fixtures import REPO, ffmpeg, frame_hashes, frame_times, probe, rate, small_clip, video_stream, vsrife


@pytest.fixture(scope="module")
def clips(tmp_path_factory, sample_video, weights_40) -> dict[str, Path]:
    """small.mp4 (30 frames, AAC), subs.mkv (+ SRT, 2 chapters, a title, audio language), vfr.mkv, noaudio.mp4."""
    d = tmp_path_factory.mktemp("clips")
    small = small_clip(sample_video, d / "small.mp4")
    (d / "s.srt").write_text("1\n00:00:00,100 --> 00:00:00,900\nHello\n\n2\n00:00:01,000 --> 00:00:01,150\nWorld\n")
    (d / "meta.txt").write_text(";FFMETADATA1\ntitle=Bunny test\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=600\n"
                                "title=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=600\nEND=1200\ntitle=Two\n")
    ffmpeg("-i", str(small), "-i", str(d / "s.srt"), "-i", str(d / "meta.txt"), "-map", "0", "-map", "1",
           "-map_metadata", "2", "-map_chapters", "2", "-c", "copy", "-c:s", "srt", "-metadata:s:a:0",
           "language=eng", str(d / "subs.mkv"))
    # Variable rate: 25 fps for 1 s, then every other frame (12.5 fps) for 1 s; AAC audio.
    ffmpeg("-i", str(sample_video), "-t", "2", "-vf", "crop=320:180:400:200,scale=160:90,"
           "select='lt(n\\,25)+eq(mod(n\\,2)\\,1)'", "-fps_mode", "vfr", "-c:v", "libx264", "-preset",
           "ultrafast", "-c:a", "aac", str(d / "vfr.mkv"))
    ffmpeg("-i", str(sample_video), "-vn", "-t", "1", "-c:a", "copy", str(d / "audio.m4a"))
    (d / "junk.mp4").write_bytes(bytes(range(256)) * 8)
    return {"small": small, "subs": d / "subs.mkv", "vfr": d / "vfr.mkv", "audio": d / "audio.m4a", "dir": d}


def _types(info: dict) -> list[str]:
    return [s["codec_type"] for s in info["streams"]]


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if "vsrife" in p.name)


def test_default_name_rate_frames_audio(clips, tmp_path):
    src = tmp_path / "clip.mp4"
    src.write_bytes(clips["small"].read_bytes())
    r = vsrife("video", str(src), "--exp", "1")
    out = tmp_path / "clip_2X_50fps.mp4"           # inference_video.py's name: {stem}_{N}X_{fps}fps.{ext}
    assert out.is_file(), r.stderr
    info = probe(out)
    v = video_stream(info)
    assert _types(info) == ["video", "audio"]
    assert int(v["nb_read_frames"]) == 60 and rate(v) == 50
    assert float(v["duration"]) == pytest.approx(1.2, abs=1e-6)
    a_in = next(s for s in probe(src)["streams"] if s["codec_type"] == "audio")
    a_out = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert a_out["codec_name"] == a_in["codec_name"] and a_out["nb_read_frames"] == a_in["nb_read_frames"]
    assert "60 frames @ 50 fps" in r.stderr and "kept 1 audio" in r.stderr
    assert frame_times(out)[:3] == pytest.approx([0.0, 0.02, 0.04])
    assert _leftovers(tmp_path) == []
    # An existing output is refused, and left alone.
    before = out.stat().st_mtime_ns
    r = vsrife("video", str(src), "--exp", "1", check=False)
    assert r.returncode == 1 and "exists; add --overwrite" in r.stderr and len(r.stderr.splitlines()) == 1
    assert out.stat().st_mtime_ns == before


def test_lossless_exact_mapping_subtitles_chapters_metadata(clips, tmp_path):
    """ffv1: output frame 2k is source frame k bit for bit; every stream, chapter and tag of the source kept."""
    out = tmp_path / "o.mkv"
    vsrife("video", str(clips["subs"]), "--multi", "2", "--codec", "ffv1", "-o", str(out), "-q")
    info = probe(out)
    assert _types(info) == ["video", "audio", "subtitle"]
    assert [c["tags"]["title"] for c in info["chapters"]] == ["One", "Two"]
    assert info["format"]["tags"]["title"] == "Bunny test"
    assert info["streams"][1]["tags"]["language"] == "eng"
    src = frame_hashes(clips["subs"])
    got = frame_hashes(out)
    assert len(got) == 60 and got[0::2] == src
    assert len(set(got[1::2]) & set(src)) <= 1       # the in-between frames are new pictures
    # mp4 holds text subtitles as mov_text; the exact NTSC rate is the container's.
    out4 = tmp_path / "o.mp4"
    r = vsrife("video", str(clips["subs"]), "--fps", "60000/1001", "-o", str(out4))
    info = probe(out4)
    v = video_stream(info)
    assert rate(v) == Fraction(60000, 1001) and int(v["nb_read_frames"]) == 72   # ceil(30 * 2.3976)
    assert [s["codec_name"] for s in info["streams"][:3]] == ["h264", "aac", "mov_text"]
    assert len(info["chapters"]) == 2 and "converted to mov_text" in r.stderr


def test_vfr_input_constant_output_same_duration(clips, tmp_path):
    src = probe(clips["vfr"])
    out = tmp_path / "vfr_out.mp4"
    vsrife("video", str(clips["vfr"]), "-o", str(out), "-q")
    info = probe(out)
    v = video_stream(info)
    assert rate(v) == 50
    times = frame_times(out)
    assert all(abs((b - a) - 0.02) < 1e-6 for a, b in zip(times, times[1:]))    # constant 50 fps
    duration = len(times) / 50
    assert duration == pytest.approx(float(src["format"]["duration"]), abs=0.05)
    assert _types(info) == ["video", "audio"]


def test_range_png_montage(clips, tmp_path):
    out = tmp_path / "part.mp4"
    vsrife("video", str(clips["small"]), "--start", "5", "--end", "0.8s", "-o", str(out), "-q")
    info = probe(out)
    v = video_stream(info)
    assert int(v["nb_read_frames"]) == 30                          # source frames 5..19 at 2x
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert float(audio["duration"]) == pytest.approx(0.6, abs=0.05)

    frames = tmp_path / "frames"
    vsrife("video", str(clips["small"]), "--png", "--end", "4", "-o", str(frames), "-q")
    names = sorted(p.name for p in frames.iterdir())
    assert names == [f"{i:07d}.png" for i in range(8)]
    assert video_stream(probe(frames / "0000000.png"))["pix_fmt"] == "rgb24"

    mont = tmp_path / "montage.mkv"
    vsrife("video", str(clips["small"]), "--montage", "--end", "4", "--codec", "ffv1", "-o", str(mont), "-q")
    v = video_stream(probe(mont))
    assert (v["width"], v["height"], int(v["nb_read_frames"])) == (160, 90, 8)   # two 80-px halves
    assert _leftovers(tmp_path) == []


def test_script_is_what_video_runs(clips, tmp_path):
    """`vsrife script` prints a .vpy; running it by hand gives the frames `vsrife video` gives."""
    r = vsrife("script", str(clips["small"]), "--end", "6", "--codec", "ffv1")
    job = tmp_path / "job.vpy"
    job.write_text(r.stdout)
    assert "vsrife.rife(src, model='4.0', factor_num=2, factor_den=1" in r.stdout
    assert "| ffmpeg" in r.stdout.splitlines()[4]
    vspipe = Path(sys.executable).parent / "vspipe"
    by_hand = tmp_path / "hand.mkv"
    p = subprocess.run(f"'{vspipe}' -a threads=1 -c y4m '{job}' - | ffmpeg -v error -f yuv4mpegpipe -i - "
                       f"-c:v ffv1 '{by_hand}'", shell=True, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "video.mkv"
    vsrife("video", str(clips["small"]), "--end", "6", "--codec", "ffv1", "-o", str(out), "-q")
    assert frame_hashes(out) == frame_hashes(by_hand) and len(frame_hashes(out)) == 12


@pytest.mark.parametrize("args, message", [
    (["{d}/missing.mp4"], "input not found: "),
    (["{d}/s.srt"], "has no video stream"),
    (["{d}/junk.mp4"], "cannot read "),
    (["{d}/audio.m4a"], "has no video stream"),
    (["{small}", "--model", "9.9"], "--model: unknown model '9.9'"),
    (["{small}", "--model", "4.26"], "--model 4.26: weights are not downloaded; run `vsrife download 4.26`"),
    (["{small}", "--scale", "0.3"], "--scale: expected one of 0.25, 0.5, 1, 2, 4, got 0.3"),
    (["{small}", "--exp", "1", "--multi", "3"], "--exp and --multi"),
    (["{small}", "--fps", "abc"], "--fps: expected N or N/D"),
    (["{small}", "--codec", "ffv1", "--crf", "10"], "--crf: ffv1 has no CRF mode"),
    (["{small}", "--start", "10", "--end", "5"], "--end (5) must come after --start (10)"),
])
def test_errors_one_line(clips, tmp_path, monkeypatch, capsys, args, message):
    """In-process (the same CLI entry point, without a Python start per case)."""
    from vsrife.__main__ import main

    empty = tmp_path / "models"
    empty.mkdir()
    if "4.26" in args:
        monkeypatch.setenv("VSRIFE_MODEL_DIR", str(empty))
    args = [a.format(d=clips["dir"], small=clips["small"]) for a in args]
    assert main(["video", *args, "-o", str(tmp_path / "x.mp4")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vsrife: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [empty]


def test_no_ffmpeg_and_encoder_failure(clips, tmp_path):
    r = vsrife("video", str(clips["small"]), "-o", str(tmp_path / "x.mp4"), env={"PATH": "/nonexistent"},
               check=False)
    assert r.returncode == 1 and "not found on PATH: install ffmpeg" in r.stderr
    # The encoder's own last error line is shown; nothing is left behind.
    r = vsrife("video", str(clips["small"]), "--end", "3", "--preset", "nonsense", "-o", str(tmp_path / "x.mp4"),
               "-q", check=False)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("vsrife: error: the encoder failed: [libx264] Error setting preset"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    # An error inside the script (here rife() refusing a weights file) is the script's own line, not ffmpeg's.
    r = vsrife("video", str(clips["small"]), "--model-path", str(clips["dir"] / "s.srt"), "-o",
               str(tmp_path / "x.mp4"), "-q", check=False)
    assert r.returncode == 1 and r.stderr.startswith("vsrife: error: rife: model_path must be"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(clips, tmp_path, sig):
    out = tmp_path / "stopped.mp4"
    p = subprocess.Popen([sys.executable, "-m", "vsrife", "video", str(clips["small"]), "--exp", "3", "-o",
                          str(out)], stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert p.stderr is not None
    first = p.stderr.readline()                       # the first progress line: frames are being made
    assert "frames" in first, first
    p.send_signal(sig)
    err = p.stderr.read()
    assert p.wait(timeout=60) == 128 + sig
    assert f"stopped by {sig.name} at output frame " in err and f"{out} not written" in err
    assert list(tmp_path.iterdir()) == []
