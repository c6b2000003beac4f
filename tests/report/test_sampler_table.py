"""The report's sampler table, from a ``metrics.json``-shaped dict."""

from __future__ import annotations

import jinja2

from mmlatent.report.sampler_table import sampler_table

SCORES = {
    "joint_coherence": 0.8,
    "n_samples": 500,
    "fidelity": {
        "image": {"fid": 12.345, "kid": 0.01234, "kid_std": 0.001, "precision": 0.9, "recall": 0.5}
    },
    "mode_coverage": {"image": {"modes_covered": 9, "n_classes": 10}},
}


def test_one_row_per_sampler_with_every_figure():
    table = sampler_table(
        {"samplers": {"prior": {**SCORES, "joint_coherence": 0.1}, "gmm": SCORES}}
    )
    assert table is not None and table.n_samples == 500
    assert table.columns[:3] == ["sampler", "joint coherence", "image FID"]
    assert table.rows[0][:3] == ["prior", "0.100", "12.35"]
    assert table.rows[1] == ["gmm", "0.800", "12.35", "0.0123 ± 0.0010", "0.90 / 0.50", "9/10"]


def test_the_second_judges_get_a_column_when_they_scored_the_samples():
    table = sampler_table(
        {"samplers": {"prior": {**SCORES, "second_judge_joint_coherence": 0.25}, "gmm": SCORES}}
    )
    assert table is not None and table.columns[:3] == [
        "sampler",
        "joint coherence",
        "joint coherence (second judges)",
    ]
    assert table.rows[0][:3] == ["prior", "0.800", "0.250"]
    assert table.rows[1][:3] == ["gmm", "0.800", "n/a"]


def test_no_table_without_compared_samplers_and_missing_figures_read_na():
    assert sampler_table({}) is None
    table = sampler_table({"samplers": {"prior": {"joint_coherence": None}}})
    assert table is not None and table.rows == [["prior", "n/a"]]


def test_the_partial_renders():
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mmlatent.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("_samplers.html").render(
        sampler_table=sampler_table({"samplers": {"gmm": SCORES}})
    )
    assert "Latent samplers compared" in html and "0.90 / 0.50" in html
