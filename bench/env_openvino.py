"""Set-up of the OpenVINO peer: vs-mlrt's vsov plugin in a venv of its own, and vs-rife's IFNet as ONNX per size.

``ov``: ``pip install vapoursynth==X vapoursynth-bestsource==X vapoursynth-mlrt-ov==17.1`` (X: our .venv's versions)
into ``.cache/bench/venv-ov``. ``ov_onnx``: ``onnx`` added to the vs-rife venv, then ``bench/ov_export.py`` there
for every model of PEER_MODELS at every benchmarked size, cached by weight file, size and exporter.
A mixin of ``env_setup.Setup``; ``ov_config`` is the vsov ``config`` of an item (vs-mlrt's Backend.OV_CPU).
"""

from __future__ import annotations

import json
from pathlib import Path

from common import BENCH, CACHE, PEER_MODELS, RESOLUTIONS, SetupError, find_python, find_vspipe, sh, sha256, \
    venv_python

VSOV = "vapoursynth-mlrt-ov==17.1"
ONNX = "onnx==1.23.2"


def ov_config(precision: str) -> dict:
    """vsmlrt.py's Backend.OV_CPU() defaults (1 stream, all threads, pinned), with bf16=True for ``bf16``."""
    hint = {"fp32": "f32", "bf16": "bf16"}[precision]
    return {"NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": 0, "ENABLE_CPU_PINNING": "YES",
            "INFERENCE_PRECISION_HINT": hint}


class OpenVinoSetup:
    """ov and ov_onnx components."""

    def ov(self) -> dict:
        py = find_python("12")
        if py is None:
            raise SetupError("no Python 3.12 interpreter found (pyenv versions/3.12.* or python3.12 on PATH)")
        vers = self.info("ours").get("versions", {}) if self.ok("ours") else {}
        specs = [f"{d}=={vers[d]}" if vers.get(d) else d for d in ("vapoursynth", "vapoursynth-bestsource")]
        specs.append(VSOV)
        venv = CACHE / "venv-ov"
        info = self._install_venv(venv, py, specs)
        self._vs_config(venv)
        vspipe = find_vspipe(venv)
        if vspipe is None:
            raise SetupError(f"vspipe not found in {venv}")
        probe = ("import json, vapoursynth as vs\n"
                 "v = {k: (x.decode() if isinstance(x, bytes) else x) for k, x in vs.core.ov.Version().items()}\n"
                 "print(json.dumps({'ov': v, 'plugins': sorted(p.namespace for p in vs.core.plugins())}))\n")
        info.update(json.loads(sh([venv_python(venv), "-c", probe], self.log, env=self.env, capture=True)
                               .strip().splitlines()[-1]))
        if "bs" not in info["plugins"]:
            raise SetupError("the bestsource plugin (core.bs) is not available in the OpenVINO venv")
        info.update(python=str(venv_python(venv)), vspipe=str(vspipe), specs=specs)
        return info

    def ov_onnx(self) -> dict:
        """ONNX files of vs-rife's IFNet for every model and size, exported in the vs-rife venv."""
        py = Path(self.info("vsrife57")["python"])
        numpy = self.info("ours").get("versions", {}).get("numpy")
        marker = CACHE / "venv-vsrife57" / ".bench-onnx"
        if not marker.exists() or marker.read_text().strip() != ONNX:
            # onnx only (numpy held at its installed version); vs-rife itself never imports it
            sh([py, "-m", "pip", "install", "--disable-pip-version-check", "-q", ONNX]
               + ([f"numpy=={numpy}"] if numpy else []), self.log, env=self.env)
            marker.write_text(ONNX + "\n")
        installed = self.info("vsrife57_models")["installed"]
        out = CACHE / "onnx"
        out.mkdir(parents=True, exist_ok=True)
        exporter = sha256(BENCH / "ov_export.py")[:12]
        files = {}
        for model in PEER_MODELS:
            if model not in installed:
                continue
            digest = sha256(Path(installed[model]))[:12]
            for res in self.args.res:
                w, h = RESOLUTIONS[res]
                path = out / f"rife_v{model}_{w}x{h}_{digest}_{exporter}.onnx"
                meta = Path(str(path) + ".json")
                if not (path.exists() and meta.exists()):
                    line = sh([py, BENCH / "ov_export.py", model, w, h, path], self.log, env=self.env, capture=True)
                    meta.write_text(line.strip().splitlines()[-1] + "\n")
                files[f"{model}@{res}"] = json.loads(meta.read_text())
        if not files:
            raise SetupError("no vs-rife weight files to export")
        return {"files": files, "exporter": f"torch.onnx.export (TorchScript), opset 17, {ONNX}"}
