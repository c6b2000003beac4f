"""``tempered`` and ``check_temperature``: the one place every model's ``temperature`` goes through."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mmlatent.latent.temperature import check_temperature, tempered, tempered_normal

finite = st.floats(-10, 10, allow_nan=False)


@given(
    mean=st.lists(finite, min_size=1, max_size=6),
    shift=finite,
    temperature=st.floats(0, 5, allow_nan=False),
)
def test_a_tempered_code_is_t_of_the_way_from_mean_to_draw(mean, shift, temperature):
    m = torch.tensor(mean, dtype=torch.float64)
    draw = m + shift
    code = tempered(m, lambda: draw, temperature)
    torch.testing.assert_close(code - m, temperature * (draw - m))


def test_one_returns_the_draw_itself_and_zero_draws_nothing():
    mean, draw = torch.zeros(3), torch.randn(3)
    assert tempered(mean, lambda: draw, 1.0) is draw

    def no_draw() -> torch.Tensor:
        raise AssertionError("drew at temperature 0")

    assert tempered(mean, no_draw, 0) is mean


@pytest.mark.parametrize("good", [0, 1, 0.5, np.float32(0.25), np.float64(2.0)])
def test_any_real_number_at_or_above_zero_is_taken_as_a_float(good):
    assert check_temperature(good) == float(good)
    assert type(check_temperature(good)) is float


@pytest.mark.parametrize("bad", [-1e-9, -2, math.nan, math.inf, "0.5", None, torch.tensor(0.5)])
def test_anything_but_a_finite_nonnegative_number_is_refused(bad):
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
        check_temperature(bad)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_tempered_normal_noise_is_t_times_the_generators_draw(temperature):
    noise = tempered_normal((3, 4), temperature, generator=torch.Generator().manual_seed(7))
    plain = torch.randn((3, 4), generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(noise, temperature * plain)


def test_tempered_normal_noise_at_zero_is_zeros_and_leaves_the_generator_alone():
    generator = torch.Generator().manual_seed(7)
    before = generator.get_state()
    assert torch.equal(tempered_normal((2, 5), 0.0, generator=generator), torch.zeros(2, 5))
    assert torch.equal(generator.get_state(), before)
