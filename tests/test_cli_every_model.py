"""Every registered model, and every latent loss, trains from the command line (one tiny epoch)."""

from __future__ import annotations

import pytest

from mmlatent.cli import main
from mmlatent.models import model_class
from mmlatent.registry import MODELS
from mmlatent.run import Run
from test_cli import write_manifest

QUICK = [
    "train.max_epochs=1",
    "train.limit_train_batches=2",
    "train.progress_bar=false",
    "data.batch_size=8",
]
CASES = [(name, None) for name in MODELS.names()] + [
    ("mopoe", loss) for loss in model_class("mopoe").capabilities.latent_losses
]


@pytest.fixture(scope="module")
def manifests(tmp_path_factory):
    complete = write_manifest(tmp_path_factory.mktemp("complete"), n=16, holes=False)
    holey = write_manifest(tmp_path_factory.mktemp("holey"), n=16)
    return complete, holey


@pytest.mark.parametrize(("name", "loss"), CASES)
def test_fit_from_the_cli(manifests, tmp_path, capsys, name, loss) -> None:
    can = model_class(name).capabilities
    options = "{latent_dim: 4, hidden_dim: 8" + ("" if can.multimodal else ", modality: image")
    options += f", latent_loss: {loss}}}" if loss else "}"
    complete, holey = manifests
    manifest = holey if can.trains_on_incomplete_rows else complete
    args = ["fit", "--data", "manifest", "--data-option", f"path={manifest}", "--model", name]
    args += ["--set", f"model.options={options}", "--out", str(tmp_path / "run")]
    assert main(args + [x for o in QUICK for x in ("--set", o)]) == 0, capsys.readouterr().err
    run = Run.load(tmp_path / "run")
    assert run.model.registry_name == name
    default = getattr(model_class(name).config_class(), "latent_loss", None)  # GANs have none
    assert getattr(run.model.config, "latent_loss", None) == (loss or default)
    if not can.trains_on_incomplete_rows:  # the same model refuses rows with holes, by name
        args[4] = f"path={holey}"
        args[-1] = str(tmp_path / "refused")
        assert main(args + [x for o in QUICK for x in ("--set", o)]) == 2
        assert "complete rows only" in capsys.readouterr().err
