"""Running ``vspipe``: where it is, what a script outputs (``--info``), and its progress lines.

``find_vspipe() -> str``; ``clip_info(script, args) -> ClipInfo`` (raises :class:`ScriptError` with the script's
own error line); :class:`Progress` turns ``vspipe -p`` stderr into frame counts. No VapourSynth import.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

__all__ = ["ScriptError", "ClipInfo", "find_vspipe", "clip_info", "script_error", "pix_fmt", "PROGRESS"]


class ScriptError(RuntimeError):
    """The generated script failed in ``vspipe`` (message: its last meaningful error line)."""


@dataclass(frozen=True)
class ClipInfo:
    """The script's output node: size, frame count, exact rate, format."""

    width: int
    height: int
    frames: int
    fps: Fraction
    format_name: str
    color_family: str    # YUV, GRAY, RGB
    bits: int


#: ``vspipe -p`` writes ``Frame: 12/264 (3.45 fps)`` separated by carriage returns.
PROGRESS = re.compile(r"Frame: (\d+)/(\d+)")


def find_vspipe() -> str:
    """``vspipe`` next to this Python (a venv's bin), else on PATH; raises :class:`ScriptError` if missing."""
    here = Path(sys.executable).parent / "vspipe"
    if here.is_file():
        return str(here)
    found = shutil.which("vspipe")
    if not found:
        raise ScriptError("vspipe not found (it comes with the vapoursynth package: pip install vapoursynth)")
    return found


def script_error(stderr: str) -> str:
    """The line of a failed vspipe run that says what went wrong (a ``rife: ...`` error first)."""
    lines = [ln.strip() for ln in stderr.replace("\r", "\n").splitlines() if ln.strip()]
    for pattern in (r"(rife: .*)", r"(?:vapoursynth\.)?Error: (.*)", r"\w*(?:Error|Exception): (.*)"):
        for ln in reversed(lines):
            m = re.search(pattern, ln)
            if m:
                return m.group(1)
    meaningful = [ln for ln in lines if not PROGRESS.search(ln) and not ln.startswith("Information:")]
    return meaningful[-1] if meaningful else "vspipe failed"


def clip_info(script: str | Path, args: list[str] | None = None) -> ClipInfo:
    """Evaluate ``script`` with ``vspipe --info`` (script arguments ``args``: ``["-a", "k=v", ...]``)."""
    r = subprocess.run([find_vspipe(), *(args or []), "--info", str(script), "-"], capture_output=True, text=True)
    if r.returncode != 0:
        raise ScriptError(script_error(r.stderr + "\n" + r.stdout))
    fields: dict[str, str] = {}
    for ln in r.stdout.splitlines():
        key, sep, value = ln.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    try:
        fps = Fraction(fields["FPS"].split()[0])
        return ClipInfo(int(fields["Width"]), int(fields["Height"]), int(fields["Frames"]), fps,
                        fields["Format Name"], fields["Color Family"], int(fields["Bits"]))
    except (KeyError, ValueError, ZeroDivisionError):
        raise ScriptError(f"unexpected vspipe --info output: {r.stdout.strip()[:200]!r}") from None


def pix_fmt(clip: ClipInfo) -> str:
    """ffmpeg's raw pixel format for an RGB clip that the script shuffled to G, B, R planes."""
    return "gbrp" if clip.bits <= 8 else f"gbrp{clip.bits}le"
