"""bench/readme_tables.py: the README's speed table comes from the results file, ratios per repeat included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "readme_tables.py"


def _run(rep: int, item: str, fps: float) -> dict:
    return {"item": item, "res": "720", "frames": 20, "kind": "full", "repeat": rep, "wall_s": 40 / fps,
            "out_frames": 40, "fps": fps, "rss_mb": 1000.0, "rc": 0, "error": None, "load_before": 1.0}


def _results() -> dict:
    runs = [_run(0, "us-4.6-fp32", 3.0), _run(1, "us-4.6-fp32", 4.0), _run(0, "ov-4.6-fp32", 2.0),
            _run(1, "ov-4.6-fp32", 2.5), _run(0, "vsrife57-4.6-fp32", 1.5), _run(1, "vsrife57-4.6-fp32", 1.6)]
    summary = [
        {"item": "us-4.6-fp32", "tool": "us", "model": "4.6", "precision": "fp32", "res": "720", "fps": 3.5,
         "rss_mb": 1100.0, "ref": "vsrife57-4.6-fp32", "fps_ratio": 3.5 / 1.55, "ov_ref": "ov-4.6-fp32",
         "ov_ratio": 3.5 / 2.25},
        {"item": "vsrife57-4.6-fp32", "tool": "vsrife57", "model": "4.6", "precision": "fp32", "res": "720",
         "fps": 1.55, "rss_mb": 2000.0},
        {"item": "ov-4.6-fp32", "tool": "ov", "model": "4.6", "precision": "fp32", "res": "720", "fps": 2.25,
         "rss_mb": 800.0, "ref": "vsrife57-4.6-fp32"},
    ]
    meta = {"command": "python bench/run.py --res 720", "date": "today", "cpu": "CPU", "cpu_flags": [],
            "nproc": 2, "load_start": 1.0, "load_end": 1.5, "frames": 20, "repeats": 2}
    return {"meta": meta, "summary": summary, "runs": runs, "accuracy": []}


def test_table_rows_and_per_repeat_ratios(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_results()))
    out = subprocess.run([sys.executable, str(SCRIPT), "--results", str(path)], capture_output=True, text=True,
                         check=True).stdout
    rows = [ln for ln in out.splitlines() if ln.startswith("| 4.6")]
    assert len(rows) == 1                                  # only our rows; the peers are columns
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[:6] == ["4.6 (random w.)", "720p", "fp32", "3.50", "1.55", "2.25"]
    assert cells[6] == "2.26× (2.00 / 2.50)"               # 3.5/1.55; repeats 3.0/1.5 and 4.0/1.6
    assert cells[7] == "1.56× (1.50 / 1.60)"               # 3.5/2.25; repeats 3.0/2.0 and 4.0/2.5
    assert cells[8] == "1100 / 2000 / 800"
    assert "`python bench/run.py --res 720`" in out and "no AVX-512 BF16" in out


def test_missing_results_is_an_error(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path / "none.json")],
                       capture_output=True, text=True)
    assert p.returncode == 1 and p.stdout == "" and "readme_tables: cannot read" in p.stderr
