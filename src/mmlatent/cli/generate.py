"""``mmlatent generate`` (any subset -> the rest) and ``mmlatent sample`` (unconditional)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mmlatent.cli.common import parse_pairs
from mmlatent.registry import SAMPLERS

DEFAULT_DRAWS = 8


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate target modalities from given ones")
    p.add_argument("run", type=Path)
    p.add_argument(
        "--given",
        action="append",
        default=[],
        metavar="MODALITY=VALUE",
        help='text="a handwritten seven", image=path.png, audio=path.wav; repeatable',
    )
    p.add_argument("--targets", help="comma-separated modalities (default: all not given)")
    p.add_argument("--n", type=int, help=f"draws from the posterior (default {DEFAULT_DRAWS})")
    spread = p.add_mutually_exclusive_group()
    spread.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        metavar="T",
        help="pull each draw toward the posterior's mean: 1 (default) draws, 0.5 keeps half the "
        "distance (fewer unclear samples, less variety; docs/zoo.md), 0 decodes the mean",
    )
    spread.add_argument(
        "--posterior-mean",
        action="store_const",
        const=0.0,
        dest="temperature",
        help="--temperature 0: decode the posterior's mean, one output, the model's most "
        "typical answer (audio from images is heard more reliably; docs/zoo.md); a mixture "
        "of experts given several modalities decodes one expert's mean, chosen by --seed",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("generated"))
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("sample", help="unconditional samples of all modalities together")
    p.add_argument("run", type=Path)
    p.add_argument("--n", type=int, default=64)
    p.add_argument(
        "--sampler",
        choices=SAMPLERS.names(),
        help="latent sampler (default: the run's); loaded from RUN/samplers/, or fitted and "
        "saved there first if absent (see `mmlatent fit-sampler`)",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        metavar="T",
        help="pull each sampler draw toward its centre (a mixture component's mean, the prior's "
        "mode, a network's zero noise): 1 (default) samples the fitted density, lower gives more "
        "typical samples and less variety (docs/models.md), 0 the centres themselves",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("samples"))
    p.set_defaults(handler=cmd_sample)


def read_given(run: Any, pairs: dict[str, str]) -> dict[str, list[Any]]:
    """Text values (and sentence features') are the text itself; others' are file paths."""
    given = {}
    for name, value in pairs.items():
        if name not in run.modalities:
            raise ValueError(
                f"--given {name}: unknown modality; this run has {', '.join(run.modalities)}"
            )
        modality = run.modalities[name]
        if modality.kind == "text":
            check_words(name, value, modality)
        given[name] = [value if modality.given_inline else modality.load(value)]
    return given


def check_words(name: str, text: str, modality: Any) -> None:
    """Warn with the words the run never saw; refuse text with no known word (it would
    condition on ``<unk>`` alone, which says nothing)."""
    unknown = modality.unknown_words(text)
    if not unknown:
        return
    known = [w for w in modality.tokenizer.split(text) if w not in unknown]
    shown = ", ".join(repr(w) for w in unknown[:10])
    if not known:
        from mmlatent.data.text import SPECIALS

        vocab = modality.tokenizer.vocab[len(SPECIALS) :]
        raise ValueError(
            f"--given {name}={text!r}: no word is in the run's vocabulary (unknown: {shown}); "
            f"its {len(vocab)} words include {', '.join(vocab[:8])}"
        )
    print(
        f"mmlatent generate: warning: --given {name}: unknown words ignored: {shown}",
        file=sys.stderr,
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from mmlatent.run import Run

    n = draw_count(args.n, args.temperature)
    run = Run.load(args.run)
    given = read_given(run, parse_pairs(args.given, "--given"))
    if not given:
        raise ValueError("give at least one --given MODALITY=VALUE (or use `mmlatent sample`)")
    targets = args.targets.split(",") if args.targets else served_targets(run.model, given)
    outputs = run.generate(
        given=given,
        targets=targets,
        n=n,
        seed=args.seed,
        temperature=args.temperature,
    )
    written = run.write_outputs(outputs, args.out, prefix="generated")
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def check_count(n: int) -> int:
    """``--n`` itself, once it is a positive number of samples."""
    if n < 1:
        raise ValueError(f"--n must be a positive number of samples, got {n}")
    return n


def draw_count(n: int | None, temperature: float) -> int:
    """How many outputs ``generate`` makes: one posterior mean (temperature 0), or ``n`` draws."""
    if n is not None:
        check_count(n)
    from mmlatent.latent.temperature import check_temperature  # torch: imported only when it runs

    check_temperature(temperature)
    if temperature == 0:
        if n not in (None, 1):
            raise ValueError(
                f"--posterior-mean (--temperature 0) makes one output (the mean), not --n {n}"
            )
        return 1
    return DEFAULT_DRAWS if n is None else n


def served_targets(model: Any, given: dict[str, Any]) -> list[str] | None:
    """The modalities the model makes from exactly the given ones (its directions), or None for
    the model's own default (a one-modality model given its modality reconstructs it)."""
    return [t for s, t in model.directions() if set(s) == set(given)] or None


def cmd_sample(args: argparse.Namespace) -> int:
    from mmlatent.latent.temperature import check_temperature
    from mmlatent.run import Run
    from mmlatent.workflows import run_sampler_name, sample_run

    check_temperature(args.temperature)  # before the run loads
    n = check_count(args.n)
    run = Run.load(args.run)
    written = sample_run(
        run,
        n=n,
        out_dir=args.out,
        sampler=args.sampler or run_sampler_name(run),
        seed=args.seed,
        temperature=args.temperature,
    )
    print(f"wrote {len(written)} files to {args.out}")
    return 0
