"""``python -m vsrife``: list, download, inspect, path. No internet (a loopback server plays the remotes)."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vsrife import models, weights
from vsrife.__main__ import main
from vsrife.weights import Source

sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import unused_port_url  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NAME = "4.15.lite"


@pytest.fixture(scope="module")
def good() -> bytes:
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save({"module." + k: v for k, v in models.create_model(NAME).state_dict().items()}, buf)
    return buf.getvalue()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc: int, err: str, *fragments: str) -> None:
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vsrife: error: ") and "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_path(cache, capsys):
    assert run_cli(capsys, "path") == (0, f"{cache}\n", "")
    assert run_cli(capsys, "path", "4.0") == (0, f"{cache / models.get_spec('4.0').filename}\n", "")
    rc, out, err = run_cli(capsys, "path", "4.99")
    assert_one_line_error(rc, err, "4.99")


def test_list(cache, capsys, good):
    cache.mkdir()
    (cache / models.get_spec(NAME).filename).write_bytes(good)
    (cache / models.get_spec("4.1").filename).write_bytes(b"")
    rc, out, err = run_cli(capsys, "list")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "INSTALLED", "SIZE", "SOURCES", "GROUP"]
    assert lines[-1] == f"cache: {cache}"
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert list(rows) == list(models.MODEL_NAMES)
    mib = f"{len(good) / 2**20:.1f}"
    assert rows[NAME][:4] == [NAME, "yes", mib, "MiB"] and rows[NAME][4] == "release"
    assert rows["4.1"][1:3] == ["EMPTY", "-"]
    assert rows["4.0"][1:4] == ["no", "-", "release+wheel"]
    assert rows["3.6"][3] == "gdrive-zip+wheel"
    for name, row in rows.items():
        assert row[-1] == models.get_spec(name).group.split()[-1]


def test_download_and_inspect(cache, server, good, monkeypatch, capsys):
    url = server.add("/w.pkl", body=good)
    monkeypatch.setitem(weights.SOURCE_TABLE, NAME, (Source("url", url),))
    path = cache / models.get_spec(NAME).filename
    rc, out, err = run_cli(capsys, "download", "-q", NAME)
    assert (rc, out, err) == (0, f"{NAME}: {path}\n", "")
    assert path.read_bytes() == good
    rc, out, err = run_cli(capsys, "download", NAME)  # installed: nothing fetched
    assert rc == 0 and server.hits("/w.pkl") == 1
    rc, out, err = run_cli(capsys, "download", "--force", NAME)
    assert rc == 0 and server.hits("/w.pkl") == 2 and "sha256" in err  # progress and sha256 on stderr

    rc, out, err = run_cli(capsys, "inspect", str(path))
    assert rc == 0 and err == ""
    fields = dict(line.split(":", 1) for line in out.splitlines())
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["file"] == str(path)
    assert fields["sha256"] == weights.sha256_file(path)
    det = models.detect_architecture(models.clean_state_dict(weights.load_state_dict(path)), path.name)
    assert fields["architecture"] == det.best == NAME
    assert fields["candidates"] == ", ".join(det.names) and fields["group"] == det.group
    n = sum(p.numel() for p in models.create_model(NAME).parameters())
    assert fields["parameters"].startswith(f"{n:,} used (float32)")
    assert fields["size"].endswith(f"({len(good)} bytes)")


def test_download_default_model(cache, server, good, monkeypatch, capsys):
    data = io.BytesIO()
    torch.save(models.create_model(models.DEFAULT_MODEL).state_dict(), data)
    url = server.add("/default.pkl", body=data.getvalue())
    monkeypatch.setitem(weights.SOURCE_TABLE, models.DEFAULT_MODEL, (Source("url", url),))
    rc, out, err = run_cli(capsys, "download", "-q")
    assert rc == 0 and out.startswith(f"{models.DEFAULT_MODEL}: ")
    assert weights.is_installed(models.DEFAULT_MODEL)


def test_download_errors(cache, server, monkeypatch, capsys):
    rc, out, err = run_cli(capsys, "download", "4.99")
    assert_one_line_error(rc, err, "4.99")
    rc, out, err = run_cli(capsys, "download", "--all", "4.0")
    assert_one_line_error(rc, err, "--all")

    refused = unused_port_url("/{name}.pkl")
    missing = server.add("/missing.pkl", status=404, body=b"")
    monkeypatch.setitem(weights.SOURCE_TABLE, NAME, (Source("url", refused), Source("url", missing)))
    rc, out, err = run_cli(capsys, "download", "-q", "--timeout", "2", NAME)
    assert_one_line_error(rc, err, f"could not download RIFE model {NAME}", "cannot connect", "HTTP 404")
    assert out == ""

    # --all goes on after failures and sums up.
    monkeypatch.setattr(weights.sources, "SOURCE_TABLE", {})
    monkeypatch.setattr(weights.sources, "DEFAULT_V4_SOURCES", (Source("url", refused),))
    rc, out, err = run_cli(capsys, "download", "-q", "--all")
    assert rc == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == len(models.MODEL_NAMES) + 1
    assert all(line.startswith("vsrife: error: ") for line in lines)
    assert "no download source is known for RIFE model 3.6" in err
    assert lines[-1] == (f"vsrife: error: {len(models.MODEL_NAMES)} of {len(models.MODEL_NAMES)} downloads failed: "
                         + ", ".join(models.MODEL_NAMES))
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


class _Hostile:
    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def test_inspect_errors(tmp_path, capsys):
    rc, out, err = run_cli(capsys, "inspect", str(tmp_path / "nope.pkl"))
    assert_one_line_error(rc, err, "not found", "nope.pkl")
    sentinel = tmp_path / "PWNED"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"w": _Hostile(str(sentinel))}, protocol=2))
    rc, out, err = run_cli(capsys, "inspect", str(tmp_path / "evil.pkl"))
    assert_one_line_error(rc, err, "evil.pkl", "not unpickled")
    assert not sentinel.exists()
    torch.save({"x.weight": torch.zeros(3, 3)}, tmp_path / "alien.pkl")
    rc, out, err = run_cli(capsys, "inspect", str(tmp_path / "alien.pkl"))
    assert_one_line_error(rc, err, "no known RIFE architecture matches")
    assert "sha256:" in out  # what could be read is shown first
    with pytest.raises(SystemExit) as info:
        main(["inspect"])
    assert info.value.code == 2


def test_module_entry_point(tmp_path):
    """The real ``python -m vsrife`` process: exit codes and one-line errors, no traceback."""
    env = dict(os.environ, VSRIFE_MODEL_DIR=str(tmp_path / "c"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "vsrife", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    p = run("path")
    assert p.returncode == 0 and p.stdout == f"{tmp_path / 'c'}\n"
    p = run("inspect", str(tmp_path / "missing.pkl"))
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("vsrife: error: weights file not found") and p.stderr.count("\n") == 1
    assert "Traceback" not in p.stderr
    p = run("nosuchcommand")  # (a bare `python -m vsrife` downloads every model, as vs-rife's does)
    assert p.returncode == 2 and "usage:" in p.stderr and "invalid choice" in p.stderr
    p = run("--help")
    assert p.returncode == 0 and all(c in p.stdout for c in ("list", "download", "inspect", "path"))
