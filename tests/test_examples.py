"""The shipped examples run with the real ``vspipe`` from any working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VSPIPE = Path(sys.executable).parent / "vspipe"


@pytest.mark.parametrize("script,width_var,source_var,want", [
    ("demo.vpy", "VSRIFE_DEMO_WIDTH", "VSRIFE_DEMO_SOURCE", " W64 H36 F50:1 "),
    ("anime.vpy", "VSRIFE_ANIME_WIDTH", "VSRIFE_ANIME_SOURCE", " W64 H36 F50:1 "),  # the sample made "on twos"
])
def test_example_runs_from_another_directory(tmp_path, sample_video, weights_40, script, width_var, source_var,
                                             want):
    """The example finds the sample clip next to the repository, not next to the working directory: 2x, 4 frames."""
    assert sample_video == REPO / ".cache" / "samples" / "bigbuckbunny.mp4"
    env = dict(os.environ, OMP_NUM_THREADS="2", **{width_var: "64"})
    env.pop(source_var, None)
    out = tmp_path / "out.y4m"
    r = subprocess.run([str(VSPIPE), "-c", "y4m", "--end", "3", str(REPO / "examples" / script), str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    data = out.read_bytes()
    header = data.split(b"\n", 1)[0].decode()
    assert want in header, header
    assert data.count(b"FRAME\n") == 4
