"""Model names, specs and architecture detection from state dicts."""
from __future__ import annotations

import oracle
import pytest
import torch

from vsrife.models import (
    DEFAULT_MODEL,
    MODEL_NAMES,
    ArchitectureError,
    UnknownModelError,
    clean_state_dict,
    create_model,
    detect_architecture,
    get_spec,
    parameter_count,
)
from vsrife.models.detect import build_model, names_in_filename
from vsrife.models.specs import GROUP_NAMES, V4_NAMES


def meta_state_dict(name: str) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        return build_model(get_spec(name)).state_dict()


def test_names_and_specs() -> None:
    assert MODEL_NAMES[0] == "3.6" and MODEL_NAMES[1:] == V4_NAMES and len(V4_NAMES) == 36
    assert DEFAULT_MODEL == "4.0" and len(set(MODEL_NAMES)) == 37
    assert {n for names in GROUP_NAMES.values() for n in names} == set(MODEL_NAMES)
    for name in MODEL_NAMES:
        spec = get_spec(name)
        assert spec.name == name and spec.filename == f"flownet_v{name}.pkl" and name in spec.group_names
        assert spec.pad_multiple(1.0) == spec.modulo and spec.pad_multiple(0.5) == 2 * spec.modulo
        assert spec.has_encoder == (spec.family == "v4" and V4_NAMES.index(name) >= V4_NAMES.index("4.7"))
    assert get_spec("4.0").modulo == 64 and get_spec("4.25.lite").modulo == 128 and get_spec("4.26").modulo == 64
    assert not get_spec("4.21").ensemble and get_spec("4.24").ensemble
    assert round(parameter_count("4.26") / 1e6, 2) == 5.66 and round(parameter_count("3.6") / 1e6, 2) == 2.28


@pytest.mark.parametrize(("name", "nearest"), [
    ("4.26.heavyy", "4.26.heavy"), ("v4.22.lite", "4.22.lite"), ("4.13lite", "4.13.lite"), ("3,6", "3.6")])
def test_unknown_model(name: str, nearest: str) -> None:
    with pytest.raises(UnknownModelError) as info:
        get_spec(name)
    assert info.value.nearest == nearest and f"'{nearest}'" in str(info.value) and "4.25.heavy" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("name", "nearest"), [
    ("V4.6 ", "4.6"), ("rife4.6", "4.6"), ("4,22 lite", "4.22.lite"), ("4.16", "4.16.lite"), ("46", "4.6"),
    ("5.0", None), ("4.27", None), ("banana", None), ("latest", None), ("", None), ("4.O", None)])
def test_unknown_model_suggests_only_close_names(name: str, nearest: str | None) -> None:
    """Typos get the name they mean; versions that do not exist and unrelated words get no suggestion (difflib
    with cutoff 0 suggested one for anything: "banana" -> a model)."""
    with pytest.raises(UnknownModelError) as info:
        get_spec(name)
    assert info.value.nearest == nearest
    assert ("Did you mean" in str(info.value)) == (nearest is not None)
    assert str(info.value).endswith("Valid models: " + ", ".join(MODEL_NAMES))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_detect_every_model(name: str) -> None:
    sd = meta_state_dict(name)
    spec = get_spec(name)
    by_file = detect_architecture(sd, f"/somewhere/{spec.filename}")
    assert (by_file.best, by_file.group, by_file.names) == (name, spec.group, spec.group_names)
    blind = detect_architecture(sd)
    assert blind.names == spec.group_names and blind.best == spec.group_names[-1]  # the newest of the group
    if len(blind.names) > 1:
        assert "newest" in blind.description and all(n in blind.description for n in blind.names)
    wrapped = {f"module.{k}": v for k, v in sd.items()}
    wrapped["module.block_tea.conv0.0.0.weight"] = torch.zeros(3)
    wrapped["module.contextnet.x"] = torch.zeros(1)
    assert detect_architecture(wrapped, "model.pth").names == spec.group_names


def test_detect_from_real_random_weights() -> None:
    model = create_model("4.22.lite")
    det = detect_architecture(model.state_dict(), "rife-v4.26.pkl")  # a misleading name
    assert det.best == "4.22.lite" and "4.26" in det.description
    assert create_model(det.best, model.state_dict()).spec.name == "4.22.lite"


def test_same_shape_tie_breaks() -> None:
    sd = meta_state_dict("4.25")
    assert detect_architecture(sd, "flownet_v4.25.pkl").best == "4.25"
    assert detect_architecture(sd, "flownet_v4.26.pkl").best == "4.26"
    assert detect_architecture(sd, "flownet.pkl").best == "4.26"
    assert detect_architecture(meta_state_dict("4.15"), "RIFE_v4_18.pth").best == "4.18"
    assert names_in_filename("x/flownet_v4.22.lite.pkl") == ["4.22.lite"]
    assert names_in_filename("rife-4.25-heavy.safetensors") == ["4.25.heavy"]
    assert names_in_filename("v3.6_2024.05.pkl") == ["3.6"]


@pytest.mark.reference
def test_real_weights_detect() -> None:
    hd = detect_architecture(oracle.load_real("3.6"), "flownet.pkl")
    assert hd.names == ("3.6",) and hd.best == "3.6"
    v40 = oracle.load_real("4.0")
    det = detect_architecture(v40, "flownet.pkl")
    assert det.names == ("4.0", "4.1") and det.group == get_spec("4.0").group
    assert detect_architecture(v40, "flownet_v4.0.pkl").best == "4.0"
    assert len(clean_state_dict(v40)) == len(create_model("4.0").state_dict())


@pytest.mark.parametrize("bad", [
    {},
    {"state_dict": {"a": 1}},
    {"foo.weight": torch.zeros(3, 3)},
])
def test_not_rife(bad: dict) -> None:
    with pytest.raises(ArchitectureError, match="not a RIFE"):
        detect_architecture(bad)


def test_near_misses_name_the_nearest() -> None:
    sd = dict(meta_state_dict("4.26"))
    del sd["block4.lastconv.0.bias"]
    with pytest.raises(ArchitectureError, match=r"nearest is 4\.26.*1 missing, e\.g\. block4\.lastconv\.0\.bias"):
        detect_architecture(sd)
    sd = dict(meta_state_dict("4.6"))
    sd["block0.conv0.0.0.weight"] = torch.empty(96, 8, 3, 3, device="meta")
    with pytest.raises(ArchitectureError, match="another shape"):
        detect_architecture(sd)
    sd = dict(meta_state_dict("4.13"))
    sd["block0.extra"] = torch.zeros(1)
    with pytest.raises(ArchitectureError, match="unexpected"):
        detect_architecture(sd)


def test_create_model_with_wrong_weights() -> None:
    with pytest.raises(ArchitectureError, match="4.25, 4.26"):
        create_model("4.22", meta_state_dict("4.25"))
    with pytest.raises(UnknownModelError):
        create_model("5.0")


def test_a_reference_that_cannot_be_fetched_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reference wheels that pip cannot fetch fail the tests that need them (they used to skip silently)."""
    from conftest import _pip_download

    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip then finds nothing, at once and offline
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(pytest.fail.Exception, match="cannot fetch the reference wheel vsrife-no-such-wheel==0.0.1"):
        oracle.fetch("vsrife-no-such-wheel==0.0.1")
    with pytest.raises(pytest.fail.Exception, match="pip download vsrife-no-such-wheel==0.0.1 failed"):
        _pip_download("vsrife-no-such-wheel==0.0.1")
