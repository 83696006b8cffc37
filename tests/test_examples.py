"""The shipped examples run with the real ``vspipe`` from any working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VSPIPE = Path(sys.executable).parent / "vspipe"


def test_demo_runs_from_another_directory(tmp_path, sample_video, weights_40):
    """`examples/demo.vpy` finds the sample clip next to the repository, not next to the working directory."""
    assert sample_video == REPO / ".cache" / "samples" / "bigbuckbunny.mp4"
    env = dict(os.environ, VSRIFE_DEMO_WIDTH="64", OMP_NUM_THREADS="2")
    env.pop("VSRIFE_DEMO_SOURCE", None)
    out = tmp_path / "out.y4m"
    r = subprocess.run([str(VSPIPE), "-c", "y4m", "--end", "3", str(REPO / "examples" / "demo.vpy"), str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    data = out.read_bytes()
    header = data.split(b"\n", 1)[0].decode()
    assert " W64 " in header and " H36 " in header and " F50:1 " in header, header
    assert data.count(b"FRAME\n") == 4


def test_anime_example_runs_from_another_directory(tmp_path, sample_video, weights_40):
    """`examples/anime.vpy` (sample made "on twos", dedup=True) from a foreign working directory: 2x, 50 fps."""
    env = dict(os.environ, VSRIFE_ANIME_WIDTH="64", OMP_NUM_THREADS="2")
    env.pop("VSRIFE_ANIME_SOURCE", None)
    out = tmp_path / "out.y4m"
    r = subprocess.run([str(VSPIPE), "-c", "y4m", "--end", "3", str(REPO / "examples" / "anime.vpy"), str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    data = out.read_bytes()
    header = data.split(b"\n", 1)[0].decode()
    assert " W64 " in header and " F50:1 " in header, header
    assert data.count(b"FRAME\n") == 4
