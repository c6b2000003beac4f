"""Command lines of any shape: ``mmlatent`` exits 0, or 2 with one line naming the problem
(argparse's usage errors included), never with a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fuzz_budget import examples, settings
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mmlatent.cli import main
from mmlatent.config import RunConfig
from mmlatent.data.modalities import AudioModality, ImageModality, TextModality
from mmlatent.models import build_model
from mmlatent.run import Run

FUZZ = settings.get_profile("mmlatent")
WORDS = ["a", "square", "cross", "zebra", "quantum", "", " ", "!", "ü", "\x00"]
MODALITY_NAMES = ["image", "text", "audio", "smell", ""]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A saved (untrained) run and input files, good and bad."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    modalities = {
        "image": ImageModality(),
        "text": TextModality(max_len=6).fit(["a square", "a cross"]),
        "audio": AudioModality(n_mels=8, frames=16),
    }
    specs = {name: m.spec for name, m in modalities.items()}
    options = {"latent_dim": 4, "hidden_dim": 16}
    config = RunConfig().with_overrides([f"model.options={options}"])
    model = build_model("mopoe", specs, options)
    Run(path=root / "run", config=config, model=model, modalities=modalities).save()
    Image.fromarray(np.full((28, 28), 9, np.uint8)).save(root / "ok.png")
    sf.write(root / "ok.wav", np.zeros(2000), 8000)
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    return {"run": root / "run", "root": root}


def given_flags(root: Path) -> st.SearchStrategy[list[str]]:
    values = st.one_of(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
        st.text(max_size=12),
        st.sampled_from([str(root / n) for n in ("ok.png", "ok.wav", "bad.png", "none.png")]),
    )
    pair = st.builds(
        lambda name, sep, value: ["--given", f"{name}{sep}{value}"],
        st.sampled_from(MODALITY_NAMES),
        st.sampled_from(["=", ""]),
        values,
    )
    return st.lists(pair, max_size=3).map(lambda pairs: [x for p in pairs for x in p])


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse: usage and one error line
        assert stop.code == 2
        return
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, err)
    if code == 2:
        assert "error:" in err and "Traceback" not in err, err


@settings(FUZZ, max_examples=examples(80))
@given(data=st.data())
def test_generate_with_any_arguments(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture, data: st.DataObject
) -> None:
    argv = ["generate", str(files["run"]), *data.draw(given_flags(files["root"]))]
    if data.draw(st.booleans()):
        targets = data.draw(st.lists(st.sampled_from(MODALITY_NAMES), max_size=3))
        argv += ["--targets", ",".join(targets)]
    n = data.draw(st.one_of(st.integers(-5, 2).map(str), st.text(max_size=4)))
    argv += ["--n", n, "--out", str(tmp_path / "out")]
    run_cli(argv, capsys)


override_values = st.one_of(
    st.sampled_from(["0", "-1", "1e999", "nan", "[", "{a: 1}", "x", "null", "true"]),
    st.text(max_size=8),
)
fit_flags = st.one_of(
    st.builds(
        lambda k, v: ["--set", f"{k}={v}"],
        st.sampled_from(
            [
                "train.lr",
                "train.max_epochs",
                "data.batch_size",
                "model.options",
                "seed",
                "train.checkpoint_every_n_steps",
                "data.missing",
                "eval.sampler",
                "bogus",
            ]
        ),
        override_values,
    ),
    st.builds(
        lambda v: ["--max-epochs", v], st.one_of(st.integers(-3, 3).map(str), st.text(max_size=4))
    ),
    st.builds(lambda v: ["--seed", v], st.one_of(st.integers().map(str), st.text(max_size=4))),
    st.builds(
        lambda m, v: ["--missing", f"{m}={v}"], st.sampled_from(MODALITY_NAMES), override_values
    ),
    st.builds(lambda v: ["--data-option", v], st.text(max_size=10)),
    st.builds(lambda v: ["--model", v], st.sampled_from(["mopoe", "mvae", "nope"])),
    st.builds(lambda v: ["--data", v], st.sampled_from(["digits", "manifest", "nope"])),
)


@settings(FUZZ, max_examples=examples(80))
@given(flags=st.lists(fit_flags, max_size=4))
def test_fit_with_any_arguments_never_crashes(
    files: dict[str, Path], capsys: pytest.CaptureFixture, flags: list[list[str]]
) -> None:
    # --out is an existing run: a valid command line stops at "already holds a run", so no
    # case trains; what is fuzzed is parsing and validation.
    argv = ["fit", "--out", str(files["run"]), *(x for flag in flags for x in flag)]
    run_cli(argv, capsys)
