"""Accuracy of the items' outputs: src[::2] interpolated, in-between frames vs the dropped real frames and vs a
reference output (our fp32 of the same model; OpenVINO's hinted precision vs its own fp32)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import BENCH, CACHE, OUR_VENV, SetupError, base_env, say, sh, venv_python
from items import Item
from runner import Bench


def accuracy(bench: Bench, items: list[Item], res: str, nsrc: int, n_interp: int, bar) -> list[dict]:
    """Interpolate src[::2] and compare the in-between frames with the real ones (and with the fp32 reference)."""
    k = max(2, min(n_interp + 1, (nsrc + 1) // 2))          # decimated source frames used
    end = 2 * (k - 1) - 1                                     # last output frame index needed (odd)
    src = bench.source_clip(res, nsrc)
    outdir = bench.work / "accuracy"
    outdir.mkdir(parents=True, exist_ok=True)
    vs_items = [it for it in items if it.tool in ("us", "vsrife57", "ov", "mvtools")]
    outputs, errors = {}, {}
    for it in vs_items:
        bar.set_description_str(f"accuracy {it.name} {res}p")
        out = outdir / f"{it.name}_{res}p.y4m"
        out.unlink(missing_ok=True)
        wall, nout, rss, rc, err = bench.run_vs(it, src, res, f"{it.name}_{res}p_acc", out_file=out,
                                                end_frame=end, decimate=True)
        bar.update(1)
        if rc == 0 and out.exists():
            outputs[it.name] = out
        else:
            errors[it.name] = err or f"exit {rc}"
            say(f"  accuracy {it.name}: FAILED: {errors[it.name]}")

    def ref_of(it: Item) -> str | None:
        if it.tool == "us" and it.precision != "fp32":
            return f"us-{it.model}-fp32"
        if it.tool == "vsrife57" or (it.tool == "ov" and it.precision == "fp32"):
            return f"us-{it.model}-fp32"
        if it.tool == "ov":   # does OpenVINO's precision hint change anything? (identical output: it did not)
            return f"ov-{it.model}-fp32"
        return None

    py = venv_python(OUR_VENV) if venv_python(OUR_VENV).exists() else Path(sys.executable)
    rows = []
    truth_cache: dict[str, dict] = {}
    for it in vs_items:
        if it.name not in outputs:
            rows.append({"item": it.name, "res": res, "error": errors.get(it.name)})
            continue
        ref = ref_of(it)
        cmd = [py, BENCH / "y4m_compare.py", "--truth", src, outputs[it.name]]
        if ref and ref in outputs:
            cmd += ["--ref", outputs[ref]]
        try:
            r = json.loads(sh(cmd, CACHE / "logs" / "accuracy.log", env=base_env(), capture=True))
            r = r[str(outputs[it.name])]
        except (SetupError, ValueError, KeyError) as exc:
            rows.append({"item": it.name, "res": res, "error": f"compare failed: {exc}"})
            continue
        row = {"item": it.name, "res": res, **r}
        if ref and ref in outputs:
            row["ref"] = ref
        truth_cache[it.name] = row
        rows.append(row)
    for row in rows:
        ref = row.get("ref")
        if ref and ref in truth_cache and "psnr_truth" in row:
            row["delta_truth_db"] = row["psnr_truth"] - truth_cache[ref]["psnr_truth"]
    return rows


# ----------------------------------------------------------------------------------------------------------------
