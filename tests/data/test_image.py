"""Image modality: exact PNG round trip, preprocessing range and shape, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mmlatent.data.errors import DataError
from mmlatent.data.modalities import ImageModality, Modality


@pytest.mark.parametrize("shape", [(28, 28), (20, 24, 3)])
def test_save_load_is_exact(tmp_path, shape: tuple[int, ...]) -> None:
    raw = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    image = ImageModality(channels=1 if len(shape) == 2 else 3)
    path = image.save(raw, tmp_path / "sample")
    assert path.suffix == ".png"
    assert np.array_equal(image.load(path), raw)


def test_preprocess_postprocess_is_exact_at_native_size() -> None:
    raw = np.random.default_rng(1).integers(0, 256, size=(28, 28), dtype=np.uint8)
    image = ImageModality()
    x = image.preprocess(raw)
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert np.array_equal(image.postprocess(x), raw)


def test_resizes_and_converts_channels_from_any_input() -> None:
    rgb = np.zeros((40, 30, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    grey = ImageModality(size=(16, 16), channels=1)
    colour = ImageModality(size=(16, 16), channels=3)
    assert grey.preprocess(rgb).shape == (1, 16, 16)
    assert colour.preprocess(rgb)[0].min() == 1.0 and colour.preprocess(rgb)[1].max() == 0.0
    assert colour.preprocess(Image.fromarray(rgb)).shape == (3, 16, 16)
    floats = np.full((16, 16), 0.5, dtype=np.float32)
    assert torch.allclose(grey.preprocess(floats), torch.full((1, 16, 16), 128 / 255))
    assert colour.postprocess(torch.rand(3, 16, 16)).shape == (16, 16, 3)


def test_batched_fast_path_matches_one_by_one() -> None:
    raws = np.random.default_rng(2).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    image = ImageModality()
    assert torch.equal(
        image.preprocess_many(raws), torch.stack([image.preprocess(r) for r in raws])
    )


def test_unreadable_file_names_the_file(tmp_path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken\.png"):
        ImageModality().load(bad)
    with pytest.raises(DataError, match=r"missing\.png"):
        ImageModality().load(tmp_path / "missing.png")


def test_state_round_trip() -> None:
    image = ImageModality("photo", size=(32, 24), channels=3)
    again = Modality.from_state(image.state())
    assert isinstance(again, ImageModality) and again.state() == image.state()
    assert again.spec == image.spec and image.spec.shape == (3, 32, 24)
