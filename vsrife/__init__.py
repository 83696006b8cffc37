"""vsrife: RIFE video frame interpolation as a VapourSynth filter.

    import vapoursynth as vs
    import vsrife
    clip = vsrife.rife(clip, factor_num=2)

See ``help(vsrife.rife)`` for every parameter and ``python -m vsrife --help`` for model management.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import openmp

if TYPE_CHECKING:  # type checkers see rife's signature; at run time it is imported on first use (__getattr__)
    from .filter import rife as rife

openmp.configure()  # before torch is imported: see vsrife.openmp

from . import distribution as _distribution  # noqa: E402

_distribution.check()  # warns once if HolyWu's vs-rife (or another package) also installs `vsrife`

from .version import __version__  # noqa: E402
__all__ = ["rife", "__version__"]


def __getattr__(name: str) -> object:
    """``vsrife.rife`` and vs-rife 5.x's module-level names, imported on first use: ``import vsrife`` stays cheap (it
    imports neither torch nor VapourSynth; the CLI and the timing module need neither)."""
    if name == "rife":
        from .filter import rife

        return rife
    if name in ("model_dir", "download_model"):  # vs-rife 5.x's module-level names (vsrife.compat)
        from . import compat

        return str(compat.model_dir()) if name == "model_dir" else compat.download_model
    if name == "RIFE":  # from vsrife import RIFE: say what to use instead of "cannot import name"
        raise ImportError("vsrife has no RIFE(): that is vs-rife 1.x-3.x's function (RIFE(clip, multi=2, ...)), "
                          "gone since vs-rife 4.0; vs-rife 5.x and this package have `from vsrife import rife`, "
                          "called as rife(clip, factor_num=multi, ...)", name="vsrife")
    raise AttributeError(name)
