"""The report's new sections (probes, second judge, traversals, interpolations, activity) and
``mmlatent compare``'s table, on fakes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from evaluation_fakes import OracleModel, make_data, oracle_judges

from mmlatent.cli import main
from mmlatent.evaluation import evaluate
from mmlatent.evaluation.second_judges import train_second_judges
from mmlatent.report import write_report
from mmlatent.report.compare import comparison_table, group_runs, numeric_leaves
from mmlatent.report.metrics_table import DISAGREE_FLAG, coherence_rows, likelihood_rows


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = make_data(n=200)
    model = OracleModel(data.specs)
    second = train_second_judges(data)
    metrics = evaluate(
        model, data, oracle_judges(), n_unconditional=20, second_judges=second
    ).to_dict()
    out = tmp_path_factory.mktemp("views")
    return write_report(
        model=model, data=data, metrics=metrics, out_dir=out, n_examples=2,
        latent_map="pca", traversal_steps=3, traversal_dims=2,
    ).read_text()  # fmt: skip


def test_the_interpretability_sections_are_there(page: str) -> None:
    for anchor in ('id="traversals"', 'id="interpolations"', "t = 0.50"):
        assert anchor in page
    assert len(re.findall(r"<h3>dimension \d</h3>", page)) == 2  # traversal_dims
    assert "dimension activity" in page.lower() and 'alt="dimension activity"' in page
    assert "linear probe accuracy" in page and "second judge (independent)" in page
    assert "test-set latent codes" not in page  # figures are embedded PNGs, not text


def test_coherence_rows_flag_judge_disagreements() -> None:
    metrics = {
        "coherence": {"text->audio": 0.98, "text->image": 0.9},
        "judge_accuracy": {"audio": 1.0, "image": 0.97},
        "joint_coherence": 0.9,
        "sampler": "gmm",
        "second_judge": {
            "coherence": {"text->audio": 0.70, "text->image": 0.88},
            "joint_coherence": 0.89,
            "disagreements": ["text->audio"],
        },
    }
    rows = {r.name: r for r in coherence_rows(metrics)}
    assert rows["text → audio"].flag == DISAGREE_FLAG and rows["text → audio"].second == "0.700"
    assert rows["text → image"].flag == ""
    assert rows["joint (all modalities agree, None gmm samples)"].second == "0.890"


def test_likelihood_rows_show_value_and_standard_error() -> None:
    metrics = {
        "likelihood": {
            "k": 10,
            "joint": {"nll": 1117.9, "se": 2.0, "n": 200},
            "conditional": {"image+text->audio": {"nll": 949.4, "se": 1.2, "n": 200}},
        }
    }
    rows = likelihood_rows(metrics)
    assert [r.name for r in rows] == [
        "joint: -log p(all modalities)",
        "-log p(audio | image, text)",
    ]
    assert rows[1].value == "949.4 ± 1.200"


def _fake_run(root: Path, name: str, model: str, seed: int, coherence: float) -> Path:
    run = root / name
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "model": {"name": model}}))
    metrics = {"coherence": {"text->image": coherence}, "notes": ["x"], "probes": None}
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_compare_groups_seeds_and_prints_one_table(tmp_path: Path, capsys) -> None:
    runs = [
        _fake_run(tmp_path, "mopoe-s0", "mopoe", 0, 0.90),
        _fake_run(tmp_path, "mopoe-s1", "mopoe", 1, 0.94),
        _fake_run(tmp_path, "mvae-s0", "mvae", 0, 0.80),
    ]
    groups = group_runs(runs)
    assert [len(g.runs) for g in groups] == [2, 1]
    header, rows = comparison_table(groups)
    assert header == ["metric", "mopoe-s0 (+1 seeds)", "mvae-s0"]
    spread = float(torch.tensor([0.90, 0.94]).std())
    assert rows == [["coherence.text->image", f"0.92 ± {spread:.2g} (n=2)", "0.8"]]
    out = tmp_path / "compare.html"
    assert main(["compare", *map(str, runs), "--no-galleries", "--out", str(out)]) == 0
    assert "coherence.text->image" in capsys.readouterr().out
    html = out.read_text()
    assert "mvae-s0" in html and "http://" not in html and "https://" not in html


def test_numeric_leaves_skip_text_lists_and_missing_values() -> None:
    d = {"a": {"b": 1, "c": None, "d": "x"}, "e": [1, 2], "f": True, "g": 0.5}
    assert numeric_leaves(d) == {"a.b": 1.0, "g": 0.5}
