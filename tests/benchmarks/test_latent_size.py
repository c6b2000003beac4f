"""benchmarks/latent_size.py: a variant's overrides reach its runs, and its table names them."""

from __future__ import annotations

from .loader import load_benchmark

L = load_benchmark("latent_size")


def test_a_variants_overrides_apply_after_the_budget_and_the_cell() -> None:
    config = L.run_config(
        8,
        "adversarial",
        2,
        ["model.options.latent_loss_options={weight: 20}", "eval.n_unconditional=2000"],
    )
    assert config.seed == 2
    assert config.model.options["latent_dim"] == 8
    assert config.model.options["latent_loss"] == "adversarial"
    assert config.model.options["latent_loss_options"] == {"weight": 20}
    assert config.eval.n_unconditional == 2000  # the budget says 500
    assert config.train.max_epochs == 16


def test_the_table_lists_variants_apart_from_the_grid() -> None:
    row = {"joint (prior)": 0.5, "joint (gmm)": 0.9, **dict.fromkeys(L.DIRECTIONS, 0.9)}
    results = {
        "8/adversarial": {"0": row},
        "8/adversarial-w20": {"0": row, "1": {**row, "joint (prior)": 0.7}},
        L.VARIANTS: {"w20": ["model.options.latent_loss_options={weight: 20}"]},
    }
    table = L.markdown(results)
    assert "| 8 | adversarial-w20 | 0.600 ± 0.141 | – |" in table  # no second judges: a dash
    assert "- `w20`: `model.options.latent_loss_options={weight: 20}`" in table
    assert "| variants |" not in table
