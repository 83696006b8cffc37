"""The README is a page for users: its tables come from the results files, and it documents every parameter."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import vsrife

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_tables_are_generated_from_the_results():
    """`bench/update_readme.py --check`: the speed and quality tables are what the results files give."""
    r = subprocess.run([sys.executable, str(REPO / "bench" / "update_readme.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_every_parameter_is_documented():
    table = README[README.index("| parameter | default | meaning |"):]
    table = table[:table.index("\n\n")]
    missing = [p for p in inspect.signature(vsrife.rife).parameters
               if f"`{p}`" not in table and not (p.startswith("trt_") and "`trt_*`" in table)]
    assert not missing, f"README parameter table lacks {missing}"


def test_contract_and_size():
    assert "make demo" in README and "make test" in README
    assert len(README.splitlines()) <= 300, "the README is a page for users; history goes to docs/"
