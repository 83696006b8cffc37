"""Architecture configurations of every supported RIFE model.

One frozen dataclass describes one architecture group (versions that share their code and every tensor shape and
differ only in trained weights); ``SPECS`` maps each public model name to its :class:`ModelSpec`. The network code in
:mod:`.ifnet_v4` and :mod:`.ifnet_hd` is driven entirely by these records.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EncoderArch", "V4Arch", "HDArch", "ModelSpec", "UnknownModelError", "MODEL_NAMES", "DEFAULT_MODEL", "SPECS",
    "get_spec", "nearest_name",
]


@dataclass(frozen=True)
class EncoderArch:
    """Per-source-frame feature head of v4.7+: conv s2, ``len(names) - 2`` convs, transposed conv x2."""

    names: tuple[str, ...]  # parameter-key names of the convolutions, as in the published weights
    width: int              # hidden channels
    channels: int           # output feature channels
    activation: bool        # LeakyReLU(0.2) between the convolutions
    clamp: bool             # clamp the input image to [0, 1] first


SEQ_16_4 = EncoderArch(("0", "1"), 16, 4, activation=False, clamp=False)            # 4.7-4.9
SEQ_32_8 = EncoderArch(("0", "2", "4", "6"), 32, 8, activation=True, clamp=False)    # 4.10-4.12
SEQ_32_4 = EncoderArch(("0", "2", "4", "6"), 32, 4, activation=True, clamp=False)    # 4.12.lite, 4.13.lite
_HEAD = ("cnn0", "cnn1", "cnn2", "cnn3")
HEAD_32_8 = EncoderArch(_HEAD, 32, 8, activation=True, clamp=True)
HEAD_16_4 = EncoderArch(_HEAD, 16, 4, activation=True, clamp=True)
HEAD_16_16 = EncoderArch(_HEAD, 16, 16, activation=True, clamp=True)


@dataclass(frozen=True)
class V4Arch:
    """One Practical-RIFE v4 architecture group.

    Every block: resize the input by 1/s, two stride-2 convs, eight body convs, a transposed conv (and PixelShuffle),
    resize back; output channels are 4 flow, 1 mask, ``block_features`` features for the next block.
    """

    widths: tuple[int, ...]               # channels of each block (4 or 5 blocks)
    scales: tuple[float, ...]             # resize divisor of each block at user scale 1
    prelu: bool = False                   # PReLU activations (4.0/4.1), else LeakyReLU(0.2)
    resconv: bool = True                  # body of ResConv (conv * beta + x) units, else plain conv + activation
    global_residual: bool = False         # body output added to its input (4.0/4.1)
    pixel_shuffle: bool = True            # transposed conv to 4*out channels + PixelShuffle(2), else to out channels
    out_channels: int = 6                 # channels after the last layer (5, 6 or 13)
    replace_mask: bool = True             # each block's mask replaces the previous one (4.7+), else accumulates
    encoder: EncoderArch | None = None    # per-frame feature head (4.7+)
    block_features: int = 0               # feature channels handed from block to block (4.21+)
    groups: int = 1                       # groups of the body convs (2 in 4.14.lite)
    large_motion: bool = False            # 4.0/4.1: rerun at doubled scales when block 1 sees > 32 px motion
    modulo: int = 32                      # padding base at scale 1
    ensemble: bool = True                 # a swapped second pass is supported

    @property
    def encoder_channels(self) -> int:
        return self.encoder.channels if self.encoder else 0

    def in_channels(self, index: int) -> int:
        """Input channels of block ``index`` (the flow's 4 channels included for later blocks)."""
        frames = 7 + 2 * self.encoder_channels  # img0, img1, timestep, features
        return frames if index == 0 else frames + 1 + 4 + self.block_features  # + mask, flow, block features


@dataclass(frozen=True)
class HDArch:
    """ECCV2022-RIFE HD v3.6: three PReLU blocks that always average a forward and a swapped pass; t = 0.5 only."""

    width: int = 90
    scales: tuple[float, ...] = (4.0, 2.0, 1.0)
    modulo: int = 32

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.width,) * len(self.scales)


_S4 = (8.0, 4.0, 2.0, 1.0)
_S5 = (16.0, 8.0, 4.0, 2.0, 1.0)
_W = (192, 128, 96, 64)
_WL = (128, 96, 64, 48)
_V4_GROUPS: dict[str, tuple[tuple[str, ...], V4Arch]] = {
    "4.0-4.1": (("4.0", "4.1"), V4Arch(
        _W, _S4, prelu=True, resconv=False, global_residual=True, pixel_shuffle=False, out_channels=5,
        replace_mask=False, large_motion=True, modulo=64)),
    "4.2-4.4": (("4.2", "4.3", "4.4"), V4Arch(
        _W, _S4, resconv=False, pixel_shuffle=False, out_channels=5, replace_mask=False)),
    "4.5": (("4.5",), V4Arch(_W, _S4, out_channels=5, replace_mask=False)),
    "4.6": (("4.6",), V4Arch(_W, _S4, replace_mask=False)),
    "4.7-4.9": (("4.7", "4.8", "4.9"), V4Arch(_W, _S4, encoder=SEQ_16_4)),
    "4.10-4.12": (("4.10", "4.11", "4.12"), V4Arch(_W, _S4, encoder=SEQ_32_8)),
    "4.12.lite,4.13.lite": (("4.12.lite", "4.13.lite"), V4Arch(_WL, _S4, encoder=SEQ_32_4)),
    "4.13-4.15,4.17-4.19,4.24": (("4.13", "4.14", "4.15", "4.17", "4.18", "4.19", "4.24"),
                                 V4Arch(_W, _S4, encoder=HEAD_32_8)),
    "4.14.lite": (("4.14.lite",), V4Arch(_W, _S4, encoder=HEAD_32_8, groups=2)),
    "4.15.lite-4.17.lite": (("4.15.lite", "4.16.lite", "4.17.lite"), V4Arch(_WL, _S4, encoder=HEAD_16_4)),
    "4.20": (("4.20",), V4Arch((384, 192, 96, 48), _S4, encoder=HEAD_32_8)),
    "4.21-4.23": (("4.21", "4.22", "4.23"), V4Arch(
        (256, 192, 96, 48), _S4, out_channels=13, encoder=HEAD_32_8, block_features=8, ensemble=False)),
    "4.22.lite": (("4.22.lite",), V4Arch(
        (192, 128, 64, 32), _S4, out_channels=13, encoder=HEAD_16_4, block_features=8, ensemble=False)),
    "4.25,4.26": (("4.25", "4.26"), V4Arch(
        (192, 128, 96, 64, 32), _S5, out_channels=13, encoder=HEAD_16_4, block_features=8, modulo=64,
        ensemble=False)),
    "4.25.lite": (("4.25.lite",), V4Arch(
        (192, 128, 96, 64, 24), (32.0, 16.0, 8.0, 4.0, 1.0), out_channels=13, encoder=HEAD_16_4, block_features=8,
        modulo=128, ensemble=False)),
    "4.25.heavy": (("4.25.heavy",), V4Arch(
        (384, 256, 192, 128, 64), _S5, out_channels=13, encoder=HEAD_16_4, block_features=8, modulo=64,
        ensemble=False)),
    "4.26.heavy": (("4.26.heavy",), V4Arch(
        (192, 128, 96, 64, 32), _S5, out_channels=13, encoder=HEAD_16_16, block_features=8, modulo=64,
        ensemble=False)),
}

#: Model names in vs-rife 5.7 order, preceded by the HD model.
V4_NAMES: tuple[str, ...] = (
    "4.0", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10", "4.11", "4.12", "4.12.lite",
    "4.13", "4.13.lite", "4.14", "4.14.lite", "4.15", "4.15.lite", "4.16.lite", "4.17", "4.17.lite", "4.18", "4.19",
    "4.20", "4.21", "4.22", "4.22.lite", "4.23", "4.24", "4.25", "4.25.lite", "4.25.heavy", "4.26", "4.26.heavy",
)
MODEL_NAMES: tuple[str, ...] = ("3.6",) + V4_NAMES
DEFAULT_MODEL = "4.0"


@dataclass(frozen=True)
class ModelSpec:
    """Everything callers need to know about one model name."""

    name: str                   # "4.22.lite"
    family: Literal["hd", "v4"]
    group: str                  # label of the architecture group, e.g. "4.13-4.15,4.17-4.19,4.24"
    modulo: int                 # padding base; see pad_multiple
    ensemble: bool              # ensemble supported
    arbitrary_timestep: bool    # False for HD 3.6 (t = 0.5 only)
    has_encoder: bool           # per-source-frame encoder features (4.7+)
    filename: str               # cache file name, e.g. "flownet_v4.22.lite.pkl"
    arch: V4Arch | HDArch

    def pad_multiple(self, scale: float) -> int:
        """Frame width and height must be multiples of this at the given flow ``scale``."""
        return max(self.modulo, int(self.modulo / scale))

    @property
    def group_names(self) -> tuple[str, ...]:
        """All model names sharing this architecture (same code and shapes, different weights)."""
        return GROUP_NAMES[self.group]

    @property
    def encoder_channels(self) -> int:
        return self.arch.encoder_channels if isinstance(self.arch, V4Arch) else 0

    @property
    def blocks(self) -> int:
        return len(self.arch.scales)


def _build() -> tuple[dict[str, ModelSpec], dict[str, tuple[str, ...]]]:
    hd = HDArch()
    specs = {"3.6": ModelSpec("3.6", "hd", "3.6", hd.modulo, False, False, False, "flownet_v3.6.pkl", hd)}
    groups: dict[str, tuple[str, ...]] = {"3.6": ("3.6",)}
    for group, (names, arch) in _V4_GROUPS.items():
        groups[group] = names
        for name in names:
            specs[name] = ModelSpec(name, "v4", group, arch.modulo, arch.ensemble, True, arch.encoder is not None,
                                    f"flownet_v{name}.pkl", arch)
    assert tuple(sorted(specs, key=MODEL_NAMES.index)) == MODEL_NAMES
    return {n: specs[n] for n in MODEL_NAMES}, groups


SPECS, GROUP_NAMES = _build()


#: How close (difflib's ratio) a name that is no version must be to a model name for it to be suggested.
SUGGEST_CUTOFF = 0.8
_SEPARATORS = re.compile(r"[\s,_-]+")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\..*)?")


def nearest_name(name: object) -> str | None:
    """The model name a mistyped ``name`` most likely means, or None when nothing is close.

    Case, a leading "v" or "rife", and separators (",", "_", "-", spaces, none before "lite"/"heavy") are forgiven;
    a version such as "4.16" is matched only to names of that version ("4.16.lite"), so a version that does not
    exist ("5.0", "4.27") gets no suggestion; anything else needs difflib's ratio >= :data:`SUGGEST_CUTOFF`.
    """
    text = str(name).strip().lower()
    text = re.sub(r"^(?:rife)?[\s_-]*v?", "", text)
    text = _SEPARATORS.sub(".", text)
    text = re.sub(r"(\d)(lite|heavy)", r"\1.\2", text).strip(".")
    if not text:
        return None
    if text in SPECS:
        return text
    version = _VERSION.fullmatch(text)
    if version:
        prefix = f"{int(version[1])}.{int(version[2])}"
        same = [n for n in MODEL_NAMES if n == prefix or n.startswith(prefix + ".")]
        near = difflib.get_close_matches(text, same, n=1, cutoff=0.0)
    else:
        near = difflib.get_close_matches(text, MODEL_NAMES, n=1, cutoff=SUGGEST_CUTOFF)
    return near[0] if near else None


class UnknownModelError(ValueError):
    """An unknown model name; the message lists the valid names and, when one is close (:func:`nearest_name`),
    suggests it."""

    def __init__(self, name: object) -> None:
        near = nearest_name(name)
        hint = f" Did you mean {near!r}?" if near else ""
        super().__init__(f"unknown RIFE model {name!r}.{hint} Valid models: {', '.join(MODEL_NAMES)}")
        self.name = name
        self.nearest = near


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name`` (e.g. "4.22.lite"); raises :class:`UnknownModelError`."""
    try:
        return SPECS[name]
    except (KeyError, TypeError):
        raise UnknownModelError(name) from None
