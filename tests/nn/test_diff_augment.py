"""DiffAugment's translation and cutout: what they move or hide, and that gradients pass."""

from __future__ import annotations

import math

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmlatent.nn.diff_augment import cutout, diff_augment, translate

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**16))
def test_translation_moves_a_dot_by_at_most_an_eighth(
    channels: int, height: int, width: int, seed: int
) -> None:
    torch.manual_seed(seed)
    x = torch.zeros(4, channels, height, width)
    x[:, :, height // 2, width // 2] = 1.0
    out = translate(x)
    assert out.shape == x.shape
    for sample in out:
        found = sample[0].nonzero()
        assert len(found) <= 1  # moved whole or pushed off the edge, never duplicated
        if len(found):
            dy, dx = (found[0] - torch.tensor([height // 2, width // 2])).abs().tolist()
            assert dy <= round(height * 0.125) and dx <= round(width * 0.125)
            assert (sample[:, found[0, 0], found[0, 1]] == 1).all()  # every channel alike


def test_translation_shifts_samples_independently() -> None:
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 32, 32)
    x[:, :, 16, 16] = 1.0
    positions = {tuple(s[0].nonzero()[0].tolist()) for s in translate(x)}
    assert len(positions) > 10  # 81 possible shifts; one shared shift would give one position


@FAST
@given(st.integers(2, 40), st.integers(2, 40), st.integers(0, 2**16))
def test_cutout_hides_one_rectangle_of_a_quarter_at_most(
    height: int, width: int, seed: int
) -> None:
    torch.manual_seed(seed)
    out = cutout(torch.ones(8, 2, height, width))
    size_h, size_w = round(height / 2), round(width / 2)
    hidden = (out[:, 0] == 0).sum(dim=(1, 2))
    assert (hidden <= size_h * size_w).all()
    assert (hidden >= math.ceil(size_h / 2) * math.ceil(size_w / 2)).all()  # centre inside
    assert torch.equal(out[:, 0], out[:, 1])  # one mask over every channel


def test_gradients_reach_the_samples_through_the_augmentation() -> None:
    torch.manual_seed(0)
    x = torch.rand(6, 1, 16, 16, requires_grad=True)
    diff_augment(x).sum().backward()
    assert x.grad is not None
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}  # each pixel is kept or dropped
    assert (x.grad.sum(dim=(1, 2, 3)) > 0).all()
