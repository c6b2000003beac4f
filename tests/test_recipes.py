"""The recipes in ``recipes/``: each loads, names the measurement it reproduces, and trains from the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmlatent.cli import main
from mmlatent.config import RunConfig
from mmlatent.models import build_config, model_class
from mmlatent.run import Run
from test_cli import write_manifest
from test_cli_every_model import QUICK

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))


def test_there_are_recipes() -> None:
    assert len(RECIPES) >= 5


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_a_recipe_is_a_valid_config_that_cites_its_results(recipe: Path) -> None:
    config = RunConfig.from_yaml(recipe)
    build_config(model_class(config.model.name).config_class, config.model.options)
    assert recipe.stem.startswith(config.data.name + "-")
    header = recipe.read_text().split("\ndata:")[0]
    assert "# Run:  mmlatent fit --config recipes/" + recipe.name in header
    cited = re.findall(r"benchmarks/results/[\w.-]+\.md", header)
    assert cited, f"{recipe.name} names no results file"
    for path in cited:
        assert (ROOT / path).is_file(), f"{recipe.name} cites {path}, which does not exist"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return write_manifest(tmp_path_factory.mktemp("recipes"), n=16, holes=False)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_a_recipe_trains_from_the_cli(manifest, tmp_path, capsys, recipe: Path) -> None:
    """One tiny epoch on a manifest with the recipe's model, small networks, and its options kept."""
    args = ["fit", "--config", str(recipe), "--data", "manifest", "--out", str(tmp_path / "run")]
    small = ["data.options={}", "model.options.latent_dim=4", "model.options.hidden_dim=8"]
    args += [x for o in QUICK + small for x in ("--set", o)]
    args += ["--data-option", f"path={manifest}"]
    assert main(args) == 0, capsys.readouterr().err
    wanted = RunConfig.from_yaml(recipe)
    run = Run.load(tmp_path / "run")
    assert run.model.registry_name == wanted.model.name
    kept = {k: v for k, v in wanted.model.options.items() if k != "latent_dim"}
    assert {k: run.config.model.options[k] for k in kept} == kept
    assert run.config.train.beta_warmup_epochs == wanted.train.beta_warmup_epochs
