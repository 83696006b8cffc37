"""Print the README's model table: parameters, GMAC per 720p frame, padding, ensemble, timesteps, weights source.

    python bench/model_table.py

GMAC counts convolution and transposed-convolution multiply-accumulates of one interpolated 1280x720 frame (padded to
the model's multiple), counted with forward hooks on meta tensors (no arithmetic is done), plus the encoder head once
per source frame. Resizes, warps and elementwise work are not counted (on the CPU they are often most of the time).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vsrife import models, weights  # noqa: E402


def gmac(name: str, w: int = 1280, h: int = 720) -> tuple[float, float]:
    spec = models.get_spec(name)
    m = spec.pad_multiple(1.0)
    ph, pw = -(-h // m) * m, -(-w // m) * m
    with torch.device("meta"):
        net = models.create_model(name)
    macs = [0]

    def hook(mod: nn.Module, inp, out) -> None:
        k = mod.kernel_size[0] * mod.kernel_size[1]
        cin = mod.in_channels // mod.groups
        if isinstance(mod, nn.ConvTranspose2d):
            macs[0] += inp[0].numel() * mod.out_channels // mod.groups * k
        else:
            macs[0] += out.numel() * cin * k

    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            mod.register_forward_hook(hook)
    x = torch.empty(1, 3, ph, pw, device="meta")
    with torch.inference_mode():
        feat = net.encode(x)
        head = macs[0]
        macs[0] = 0
        # 4.0/4.1 decide their large-motion branch from data: count the normal path.
        if hasattr(net, "_large_motion"):
            net._large_motion = lambda *a, **k: None
        net(x, x, 0.5, feat, feat)
    return macs[0] / 1e9, head / 1e9


def main() -> None:
    print("| model | group | parameters | GMAC / 720p frame (+ head per source frame) | padding multiple | ensemble "
          "| timesteps | weights from |")
    print("|---|---|---:|---:|---:|---|---|---|")
    for row in models.model_table():
        name = str(row["name"])
        flow, head = gmac(name)
        srcs = " then ".join(s.kind for s in weights.sources_for(name))
        print(f"| {name} | {row['group']} | {row['params'] / 1e6:.2f} M | {flow:.1f}"
              f"{f' + {head:.2f}' if head else ''} | {row['modulo']} | {'yes' if row['ensemble'] else 'no'} | "
              f"{'any' if row['arbitrary_timestep'] else '0.5 (halving)'} | {srcs} |")


if __name__ == "__main__":
    main()
