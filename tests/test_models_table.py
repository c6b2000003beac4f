"""`mmlatent models`: a table read from each model's declared capabilities, one row per model."""

from mmlatent.cli import main, models_table
from mmlatent.models import model_class
from mmlatent.registry import MODELS


def test_one_row_per_registered_model_from_its_capabilities() -> None:
    header, *rows = models_table()
    assert header == ["name", "family", "fusion", "latent loss", "capabilities", "paper"]
    assert [r[0] for r in rows] == MODELS.names()
    for name, family, fusion, losses, flags, paper in rows:
        can = model_class(name).capabilities
        assert (family, fusion, paper) == (can.family, can.fusion, can.paper)
        default = getattr(model_class(name).config_class(), "latent_loss", "-")  # GANs: none
        assert losses.startswith(default) and all(loss in losses for loss in can.latent_losses)
        assert ("incomplete-rows" in flags) == can.trains_on_incomplete_rows


def test_cli_prints_the_table(capsys) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "family", "fusion"]
    assert len(lines) == 1 + len(MODELS.names())
    assert any(line.startswith("mopoe ") and "Sutter" in line for line in lines)
