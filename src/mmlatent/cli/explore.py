"""``mmlatent explore``: walk the latent space of a run and write what it decodes to, as files.

``--traverse DIM`` sweeps one dimension of the mean test code over ± ``--width`` standard
deviations of its values on the test data. ``--interpolate A B`` walks the straight line between
the codes of two inputs, each given in any modalities:

* ``12`` or ``12:image+text``: row 12 of the test split (0-based), all of its modalities or
  only those named;
* ``text=a handwritten seven``, ``image=digit.png``, ``audio=seven.wav``: a value of one modality
  (text as itself, other modalities as a file path), as ``mmlatent generate --given`` takes.

Every step is decoded into every modality and written as PNG, WAV and TXT files with a
``steps.json`` of the codes' values.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explore", help="latent traversals and interpolations, written as files")
    p.add_argument("run", type=Path)
    p.add_argument("--traverse", type=int, action="append", default=[], metavar="DIM")
    p.add_argument(
        "--interpolate",
        nargs=2,
        metavar=("A", "B"),
        help="two inputs: a test row (12, 12:image+text) or MODALITY=VALUE",
    )
    p.add_argument("--steps", type=int, help="points per walk (default: the run's eval config)")
    p.add_argument("--width", type=float, default=3.0, help="traversal half-width in stds")
    p.add_argument("--out", type=Path, help="output folder (default: RUN/explore)")
    p.set_defaults(handler=cmd_explore)


def cmd_explore(args: argparse.Namespace) -> int:
    from mmlatent.evaluation.interpret import (
        code_of,
        interpolation_codes,
        latent_statistics,
        traversal_codes,
        traversal_values,
    )
    from mmlatent.run import Run
    from mmlatent.workflows import load_run_data

    if not args.traverse and not args.interpolate:
        raise ValueError("give --traverse DIM and/or --interpolate A B")
    run = Run.load(args.run)
    if not run.model.capabilities.encodes:
        raise ValueError(f"model {run.model.registry_name!r} has no encoder: no codes to explore")
    data = load_run_data(run)
    steps = args.steps or run.config.eval.traversal_steps
    out = args.out or run.path / "explore"
    run.model.eval()
    walks: dict[str, tuple[torch.Tensor, list[Any]]] = {}
    if args.traverse:
        mean, std = latent_statistics(run.model, data)
        for d in args.traverse:
            values = traversal_values(float(mean[d]), float(std[d]), steps, width=args.width)
            walks[f"traverse-z{d}"] = (traversal_codes(mean, d, values), values)
    if args.interpolate:
        ends = [code_of(run.model, endpoint(run, data, text)) for text in args.interpolate]
        fractions = torch.linspace(0, 1, steps).tolist()
        walks["interpolate"] = (interpolation_codes(ends[0], ends[1], steps), fractions)
    for name, (codes, values) in walks.items():
        folder = out / name
        outputs = run.generate(latent=codes.to(run.model.device), seed=run.config.seed)
        written = run.write_outputs(outputs, folder, prefix="step")
        (folder / "steps.json").write_text(
            json.dumps({"values": values, "codes": codes.tolist()}, indent=1)
        )
        print(f"{name}: {len(written)} files in {folder}")
    return 0


def endpoint(run: Any, data: Any, text: str) -> dict[str, torch.Tensor]:
    """One interpolation end as ``{modality: (1, ...) tensor}`` (formats in the module doc)."""
    if "=" in text:
        from mmlatent.cli.common import parse_pairs
        from mmlatent.cli.generate import read_given

        return {
            m: x[:1]
            for m, x in run.preprocess(
                read_given(run, parse_pairs([text], "--interpolate"))
            ).items()
        }
    index, _, names = text.partition(":")
    test = data.splits["test"]
    if not index.isdigit() or int(index) >= len(test):
        raise ValueError(
            f"--interpolate {text!r}: expected a test row 0..{len(test) - 1} "
            "(optionally :mod+mod) or MODALITY=VALUE"
        )
    row = int(test[int(index)])
    chosen = names.split("+") if names else [m for m in run.model.modalities if m in data.masks]
    unknown = [m for m in chosen if m not in run.model.modalities]
    if unknown:
        raise ValueError(f"--interpolate {text!r}: unknown modality {unknown[0]!r}")
    present = [m for m in chosen if bool(data.masks[m][row])]
    if not present:
        raise ValueError(f"--interpolate {text!r}: test row {index} has none of {chosen}")
    return {m: data.tensors[m][row : row + 1] for m in present}
