"""benchmarks/pixel_fid.py: the second image judge's front end, as an FID feature."""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from mmlatent.evaluation.second_judges import pooled_pixels
from mmlatent.types import ModalitySpec

from .loader import load_benchmark

P = load_benchmark("pixel_fid")
SPEC = ModalitySpec(name="image", kind="image", shape=(1, 12, 12), likelihood="bernoulli")


def test_the_feature_is_the_second_judges_front_end() -> None:
    x = torch.rand(5, 1, 12, 12)
    features = P.PooledPixels(SPEC.shape)
    assert features.num_features == 36
    np.testing.assert_allclose(features(x).numpy(), pooled_pixels(x, SPEC), rtol=1e-5, atol=1e-5)


def test_fid_in_pooled_pixels_is_zero_on_the_same_set_and_grows_with_a_shift() -> None:
    torch.manual_seed(0)
    real = torch.rand(300, 1, 12, 12) ** 2
    fid = FrechetInceptionDistance(feature=P.PooledPixels(SPEC.shape), reset_real_features=False)
    fid.update(real, real=True)
    fid.update(real, real=False)
    same = float(fid.compute())
    fid.reset()
    shifted = real.clone()
    shifted[:, :, :6] = 0.0  # the top half blacked out
    fid.update(shifted, real=False)
    assert abs(same) < 1e-2 and float(fid.compute()) > 1.0
