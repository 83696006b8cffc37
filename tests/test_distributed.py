"""`vsrife video --workers N` on one local Ray (module-scoped): seams, retries, --resume, scene-cut boundaries.

A 160x90 clip of two shots (30 source frames, a hard cut before frame 18), model 4.0, ffv1: the joined pieces must
decode to the very frames (and timestamps) of one `vsrife video` process.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import ray  # the test extra includes it (pip install -e '.[test]'): a missing Ray fails, it does not skip

from video_fixtures import cut_clip, frame_hashes, frame_times, probe, rate, video_stream, vsrife


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_video, weights_40) -> Path:
    return cut_clip(sample_video, tmp_path_factory.mktemp("ray") / "cut.mp4")


@pytest.fixture(scope="module")
def reference(clip, tmp_path_factory) -> Path:
    """The same job in one process (no Ray)."""
    out = tmp_path_factory.mktemp("ref") / "one.mkv"
    vsrife("video", str(clip), "--codec", "ffv1", "-o", str(out), "-q")
    return out


def _run(args: list[str], capsys) -> tuple[int, str]:
    from vsrife.__main__ import main

    status = main(["video", *args])
    return status, capsys.readouterr().err


def test_plan_chunks_moves_boundaries_to_cuts():
    from vsrife.distributed import plan_chunks

    chunks = plan_chunks(60, 20, [36])
    assert [(c.start, c.end) for c in chunks] == [(0, 19), (20, 35), (36, 59)]
    assert [(c.start, c.end) for c in plan_chunks(60, 20, [30])] == [(0, 19), (20, 39), (40, 59)]  # too far
    assert [(c.start, c.end) for c in plan_chunks(7, 3, [])] == [(0, 1), (2, 4), (5, 6)]
    assert plan_chunks(1, 20, [0]) == plan_chunks(1, 1, [])


def test_workers_3_and_1_equal_one_process(cluster, clip, reference, tmp_path, capsys, monkeypatch):
    """--workers 3 (with chunk 1's worker killed mid-run once: Ray retries it) and --workers 1 both decode to the
    frames and timestamps of one process; the pieces are gone afterwards."""
    ref = frame_hashes(reference)
    assert len(ref) == 60
    marker = tmp_path / "killed"
    for workers in ("3", "1"):
        out = tmp_path / f"w{workers}.mkv"
        if workers == "3":
            monkeypatch.setenv("VSRIFE_TEST_FAULT", f"kill:1:{marker}")
        else:
            monkeypatch.delenv("VSRIFE_TEST_FAULT")
        status, err = _run([str(clip), "--codec", "ffv1", "-o", str(out), "--workers", workers,
                            "--chunk-frames", "20"], capsys)
        assert status == 0, err
        assert "3 chunks on Ray" in err
        assert frame_hashes(out) == ref
        assert frame_times(out) == frame_times(reference)
        assert rate(video_stream(probe(out))) == 50
        if workers == "3":
            assert marker.read_text() == "killed once\n"      # the kill happened (and only once)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed", "w1.mkv", "w3.mkv"]   # pieces removed


def test_scene_cut_becomes_a_boundary(cluster, clip, tmp_path):
    from types import SimpleNamespace

    from vsrife.distributed import scene_cuts
    from vsrife.job import plan_job

    args = SimpleNamespace(input=str(clip), exp=None, multi=None, fps=None, scale=None, UHD=False, montage=False,
                           model="4.0", model_path=None, dedup=False, sc=True, precision=None, device=None,
                           start=None, end=None, output=str(tmp_path / "x.mkv"), ext=None, png=False,
                           codec="ffv1", crf=None, preset=None, ffmpeg_args=None, overwrite=False, quiet=True,
                           threads=None, encoder_threads=None)
    assert scene_cuts(plan_job(args), tmp_path) == [36]      # source frame 18 starts the second shot: 2 * 18


def test_failed_chunk_then_resume(cluster, clip, reference, tmp_path, capsys, monkeypatch):
    out = tmp_path / "r.mkv"
    args = [str(clip), "--codec", "ffv1", "-o", str(out), "--workers", "1", "--chunk-frames", "20"]
    monkeypatch.setenv("VSRIFE_TEST_FAULT", "fail:2")
    status, err = _run(args, capsys)
    assert status == 1 and "chunk 2 (output frames 36-59) failed" in err and "--resume" in err, err
    parts = tmp_path / ".r.mkv.vsrife-parts"
    done = sorted(p.name for p in parts.glob("chunk_*.nut"))
    assert done == ["chunk_00000.nut", "chunk_00001.nut"] and not out.exists()
    monkeypatch.delenv("VSRIFE_TEST_FAULT")
    status, err = _run(args, capsys)                         # without --resume: refused, nothing lost
    assert status == 1 and "add --resume" in err
    status, err = _run(args + ["--resume"], capsys)
    assert status == 0 and "2 reused" in err, err
    assert frame_hashes(out) == frame_hashes(reference)
    assert not parts.exists()
