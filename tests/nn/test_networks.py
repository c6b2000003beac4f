import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmlatent.nn import BODIES, DECODERS, build_body, build_decoder, build_encoder
from mmlatent.types import ModalitySpec

LATENT, HIDDEN = 4, 16
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_round_trip(spec: ModalitySpec, batch: int = 2) -> None:
    encoder, decoder = build_encoder(spec, LATENT, HIDDEN), build_decoder(spec, LATENT, HIDDEN)
    if spec.kind == "text":
        x = torch.randint(0, spec.vocab_size, (batch, *spec.shape))
    else:
        x = torch.rand(batch, *spec.shape)
    mean, logvar = encoder(x)
    assert mean.shape == logvar.shape == (batch, LATENT)
    params = decoder(mean)
    want = (batch, *spec.shape, spec.vocab_size) if spec.kind == "text" else (batch, *spec.shape)
    assert params.shape == want
    assert torch.isfinite(params).all()


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 5, 7), (1, 1, 1)])
def test_image_networks_common_shapes(shape: tuple[int, ...]) -> None:
    _check_round_trip(ModalitySpec(name="image", kind="image", shape=shape, likelihood="bernoulli"))


@FAST
@given(st.sampled_from([1, 3]), st.integers(1, 72), st.integers(1, 72))
def test_image_networks_any_size(channels: int, height: int, width: int) -> None:
    spec = ModalitySpec(
        name="image", kind="image", shape=(channels, height, width), likelihood="laplace"
    )
    _check_round_trip(spec)


@FAST
@given(st.integers(2, 64), st.integers(2, 128))
def test_audio_networks_any_log_mel(n_mels: int, frames: int) -> None:
    _check_round_trip(
        ModalitySpec(name="audio", kind="audio", shape=(1, n_mels, frames), likelihood="laplace")
    )


@FAST
@given(st.integers(1, 40), st.integers(2, 100))
def test_text_networks_any_length_and_vocab(length: int, vocab: int) -> None:
    spec = ModalitySpec(
        name="text", kind="text", shape=(length,), likelihood="categorical", vocab_size=vocab
    )
    _check_round_trip(spec)


@pytest.mark.parametrize("size", [1, 7, 300])
def test_vector_networks(size: int) -> None:
    _check_round_trip(ModalitySpec(name="v", kind="vector", shape=(size,), likelihood="gaussian"))


def test_every_kind_has_both_networks() -> None:
    assert set(BODIES) == set(DECODERS) == {"image", "audio", "text", "vector"}


def test_samples_are_independent_of_each_other() -> None:
    """No batch statistics: a sample's output must not depend on its batch mates."""
    spec = ModalitySpec(name="image", kind="image", shape=(1, 12, 12), likelihood="bernoulli")
    encoder = build_encoder(spec, LATENT, HIDDEN)
    x = torch.rand(3, 1, 12, 12)
    alone = encoder(x[:1])[0]
    with_others = encoder(torch.cat([x[:1], torch.zeros(2, 1, 12, 12)]))[0][:1]
    torch.testing.assert_close(alone, with_others)


@pytest.mark.parametrize(
    "spec",
    [
        ModalitySpec(name="t", kind="text", shape=(4,), likelihood="gaussian", vocab_size=5),
        ModalitySpec(name="i", kind="image", shape=(1, 4, 4), likelihood="categorical"),
    ],
)
def test_categorical_goes_with_text_only(spec: ModalitySpec) -> None:
    with pytest.raises(ValueError, match="categorical"):
        build_encoder(spec, LATENT, HIDDEN)


def test_bad_sizes_raise() -> None:
    spec = ModalitySpec(name="v", kind="vector", shape=(3,), likelihood="gaussian")
    with pytest.raises(ValueError, match="latent_dim"):
        build_decoder(spec, 0, HIDDEN)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        build_encoder(
            ModalitySpec(name="i", kind="image", shape=(8, 8), likelihood="bernoulli"), 2, 4
        )


def test_text_decoder_is_causal_and_greedy_decoding_follows_its_own_argmax():
    import torch

    from mmlatent.nn.text import TextDecoder

    torch.manual_seed(0)
    decoder = TextDecoder(length=7, vocab_size=11, latent_dim=3, hidden_dim=8)
    z = torch.randn(4, 3)
    tokens = torch.randint(0, 11, (4, 7))
    changed = tokens.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % 11  # alter positions 4.. only
    a, b = decoder(z, tokens), decoder(z, changed)
    assert torch.allclose(a[:, :5], b[:, :5])  # position t sees tokens < t only
    assert not torch.allclose(a[:, 5:], b[:, 5:])
    greedy = decoder(z)  # (B, L, V), each step fed the previous argmax
    ids = greedy.argmax(-1)
    assert torch.allclose(decoder(z, ids), greedy, atol=1e-5)


def test_an_encoder_is_its_body_with_a_gaussian_head() -> None:
    spec = ModalitySpec(name="audio", kind="audio", shape=(1, 8, 16), likelihood="laplace")
    torch.manual_seed(0)
    body = build_body(spec, HIDDEN)
    torch.manual_seed(0)
    encoder = build_encoder(spec, LATENT, HIDDEN)
    x = torch.rand(3, 1, 8, 16)
    torch.testing.assert_close(encoder.body(x), body(x))
    assert body(x).shape == (3, HIDDEN)


@FAST
@given(
    st.sampled_from(["image", "audio"]), st.integers(1, 40), st.integers(1, 40), st.integers(0, 3)
)
def test_refined_grid_decoders_keep_the_shape_and_end_on_full_resolution_convs(
    kind: str, height: int, width: int, refine: int
) -> None:
    spec = ModalitySpec(name=kind, kind=kind, shape=(1, height, width), likelihood="laplace")
    decoder = build_decoder(spec, LATENT, HIDDEN, refine=refine)
    assert decoder(torch.randn(2, LATENT)).shape == (2, 1, height, width)
    convs = [m for m in decoder.modules() if type(m) is torch.nn.Conv2d]
    upsampling = [m for m in decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(convs) == (refine if upsampling else 0)  # grids under 8 pixels have none
    if convs:
        assert convs[-1].out_channels == 1 and convs[0].padding == (1, 1)


def test_an_unrefined_decoder_keeps_the_layout_older_runs_saved() -> None:
    """refine=0 is the decoder every run before the option had, parameter for parameter."""
    spec = ModalitySpec(name="audio", kind="audio", shape=(1, 32, 32), likelihood="laplace")
    shapes = {k: tuple(v.shape) for k, v in build_decoder(spec, 32, 128).state_dict().items()}
    assert shapes == {
        "net.0.0.weight": (128, 32),
        "net.0.0.bias": (128,),
        "net.0.2.weight": (2048, 128),
        "net.0.2.bias": (2048,),
        "net.2.weight": (128, 64, 4, 4),
        "net.2.bias": (64,),
        "net.4.weight": (64, 32, 4, 4),
        "net.4.bias": (32,),
        "net.6.weight": (32, 1, 4, 4),
        "net.6.bias": (1,),
    }


@pytest.mark.parametrize(
    "spec",
    [
        ModalitySpec(name="t", kind="text", shape=(5,), likelihood="categorical", vocab_size=7),
        ModalitySpec(name="v", kind="vector", shape=(6,), likelihood="gaussian"),
    ],
)
def test_refining_a_kind_without_a_grid_is_an_error_naming_it(spec: ModalitySpec) -> None:
    with pytest.raises(ValueError, match=rf"'{spec.name}'.*no grid.*audio, image"):
        build_decoder(spec, LATENT, HIDDEN, refine=1)
    assert build_decoder(spec, LATENT, HIDDEN, refine=0) is not None


def test_negative_refine_raises() -> None:
    spec = ModalitySpec(name="audio", kind="audio", shape=(1, 8, 8), likelihood="laplace")
    with pytest.raises(ValueError, match="refine"):
        build_decoder(spec, LATENT, HIDDEN, refine=-1)
