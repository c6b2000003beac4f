"""``mmlatent compare RUN_A RUN_B ...``: every figure side by side, and ``compare.html``.

Runs of one configuration with different seeds are grouped (mean ± std); the galleries show the
first run of each group on the same test rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="runs side by side: one table, and compare.html")
    p.add_argument("runs", type=Path, nargs="+")
    p.add_argument("--out", type=Path, default=Path("compare.html"))
    p.add_argument("--examples", type=int, default=4, help="test rows per gallery direction")
    p.add_argument("--no-galleries", action="store_true", help="the table only (fast)")
    p.set_defaults(handler=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from mmlatent.report.compare import comparison_table, group_runs, text_table

    groups = group_runs(args.runs)
    header, rows = comparison_table(groups)
    print(text_table(header, rows))
    grids, unconditional = ([], {}) if args.no_galleries else galleries(groups, args.examples)
    from mmlatent.report.compare import write_compare_html

    path = write_compare_html(args.out, header, rows, grids, unconditional)
    print(f"compare page written to {path}")
    return 0


def galleries(groups: list, n_examples: int) -> tuple[list, dict]:
    """Cross-modal grids on the same test rows for each group's first run, merged side by side,
    and each one's unconditional samples (from its own sampler)."""
    from mmlatent.evaluation.runtime import inference
    from mmlatent.report import gallery
    from mmlatent.report.compare import side_by_side
    from mmlatent.report.render import render
    from mmlatent.run import Run
    from mmlatent.workflows import load_run_data, seeded_draws

    per_run, unconditional = {}, {}
    for group in groups:
        run = Run.load(group.runs[0])
        data = load_run_data(run)
        names = [m for m in run.model.modalities if m in data.modalities]
        with inference(run.model, run.config.seed):
            rows = gallery.example_rows(data, names, n_examples, seed=0)
            real = {m: render(data.modalities[m], data.tensors[m][rows]) for m in names}
            if len(names) > 1:
                per_run[group.label] = gallery.cross_modal_grids(run.model, data, rows, real)
            draws = seeded_draws(run, data) if run.model.capabilities.encodes else None
            unconditional[group.label] = gallery.unconditional_samples(
                run.model, data, n_examples, latent_sampler=draws
            )
    shared = _shared_directions(per_run)
    return (side_by_side(shared) if shared else []), unconditional


def _shared_directions(per_run: dict) -> dict:
    """Only the directions every run has, in the same order."""
    if not per_run:
        return {}
    keys = [{g.key for g in grids} for grids in per_run.values()]
    common = set.intersection(*keys)
    return {label: [g for g in grids if g.key in common] for label, grids in per_run.items()}
