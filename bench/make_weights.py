"""Write random-weight RIFE model files for speed benchmarks (speed does not depend on the weight values).

    python bench/make_weights.py OUT_DIR 4.6 4.26 [--source ours|peer|auto]

Files are named ``flownet_v<NAME>.pkl`` and hold a plain state dict whose keys carry the ``module.`` prefix, the
layout of the published checkpoints, so that both our loader (which strips the prefix) and vs-rife 5.7.0 (which
only keeps ``module.`` keys) load them.

``ours`` builds the modules with ``vsrife.models.create_model(name)`` (this repository, run with the repo on
PYTHONPATH). ``peer`` builds them with the model classes of the installed vs-rife 5.7.0 package
(``vsrife.IFNet_HDv3_v4_*.IFNet``); the benchmark uses it only while our models package is not importable.
The generator is seeded, so a file is reproducible for a given torch version.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import torch


def state_dict_ours(name: str) -> dict:
    from vsrife.models import create_model  # this repository

    return create_model(name).state_dict()


def state_dict_peer(name: str) -> dict:
    if not name.startswith("4."):
        raise ValueError(f"peer models exist only for v4 names, not {name!r}")
    suffix = name[2:].replace(".", "_")  # "26" -> "26", "25.heavy" -> "25_heavy"
    mod = importlib.import_module(f"vsrife.IFNet_HDv3_v4_{suffix}")
    return mod.IFNet().state_dict()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--source", choices=("ours", "peer", "auto"), default="auto")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    os.makedirs(args.out_dir, exist_ok=True)
    for name in args.names:
        torch.manual_seed(args.seed)
        source = args.source
        if source in ("ours", "auto"):
            try:
                sd = state_dict_ours(name)
                source = "ours"
            except Exception as exc:  # noqa: BLE001 - report and fall back
                if args.source == "ours":
                    raise
                print(f"make_weights: our create_model({name!r}) unavailable ({exc!r}); using the peer's classes",
                      file=sys.stderr)
                torch.manual_seed(args.seed)
                sd = state_dict_peer(name)
                source = "peer"
        else:
            sd = state_dict_peer(name)
        sd = {("module." + k): (v.detach().float() if v.is_floating_point() else v.detach()).contiguous().clone()
              for k, v in sd.items()}
        path = os.path.join(args.out_dir, f"flownet_v{name}.pkl")
        tmp = path + ".tmp"
        torch.save(sd, tmp)
        os.replace(tmp, path)
        n = sum(v.numel() for v in sd.values())
        print(f"{path}\t{source}\t{len(sd)} tensors\t{n} values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
