"""Typed run configuration: plain values, validated on construction, saved as YAML beside each run.

A run's ``config.yaml`` (with the mmlatent version) is enough to reproduce it: ``mmlatent fit
--config runs/x/config.yaml`` rebuilds the same data split, model and seed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmlatent import __version__

LR_SCHEDULES = ("constant", "cosine")
LATENT_MAPS = ("auto", "tsne", "pca")


class ConfigError(ValueError):
    """A config field is unknown or has a bad value; the message names the field's path."""


@dataclass(kw_only=True)
class DataConfig:
    name: str = "digits"
    """Registered data set (``mmlatent data list`` shows them)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword options of the data set, e.g. ``{"path": "my/manifest.jsonl"}``."""
    batch_size: int = 64
    """Samples per optimisation step (per device under DDP)."""
    num_workers: int = 0
    """DataLoader workers; tensors are in memory, so 0 is usually fastest."""
    missing: dict[str, float] = field(default_factory=dict)
    """Fraction of training rows from which each named modality is dropped, completely at
    random and seeded (``{"audio": 0.5}``): training on incomplete data."""

    def __post_init__(self) -> None:
        _require(self.batch_size >= 1, "data.batch_size", "must be >= 1", self.batch_size)
        _require(self.num_workers >= 0, "data.num_workers", "must be >= 0", self.num_workers)
        for modality, rate in self.missing.items():
            ok = isinstance(rate, int | float) and not isinstance(rate, bool) and 0 <= rate < 1
            _require(ok, f"data.missing.{modality}", "must be a fraction in [0, 1)", rate)


@dataclass(kw_only=True)
class ModelConfig:
    name: str = "mopoe"
    """Registered model (``mmlatent models`` lists them)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Fields of the model's own config dataclass, e.g. ``{"latent_dim": 20, "beta": 1.0}``."""


@dataclass(kw_only=True)
class AdversarialConfig:
    """Settings only the adversarial training system (GANs) reads."""

    generator_lr: float = 2e-4
    """Adam learning rate of the generator (DCGAN's 2e-4)."""
    discriminator_lr: float = 2e-4
    """Adam learning rate of the discriminator."""
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    """Adam's (beta1, beta2); DCGAN's beta1 = 0.5 keeps momentum from chasing the moving
    opponent (WGAN-GP's paper uses [0.0, 0.9])."""
    n_critic: int = 1
    """Discriminator steps per generator step (WGAN-GP's paper uses 5)."""
    ema_decay: float = 0.999
    """Decay of the moving average of the generator's weights that sampling uses (0: sample
    from the trained weights as they are)."""

    def __post_init__(self) -> None:
        for name in ("generator_lr", "discriminator_lr"):
            _require(
                getattr(self, name) > 0,
                f"train.adversarial.{name}",
                "must be > 0",
                getattr(self, name),
            )
        ok = len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas)
        _require(ok, "train.adversarial.betas", "must be two numbers in [0, 1)", self.betas)
        _require(self.n_critic >= 1, "train.adversarial.n_critic", "must be >= 1", self.n_critic)
        _require(
            0 <= self.ema_decay < 1,
            "train.adversarial.ema_decay",
            "must be in [0, 1)",
            self.ema_decay,
        )


@dataclass(kw_only=True)
class TrainConfig:
    max_epochs: int = 30
    """Upper bound on epochs; early stopping usually ends sooner."""
    lr: float = 2e-3
    """Adam learning rate (the peak, with a schedule)."""
    lr_schedule: str = "cosine"
    """``cosine`` anneals the learning rate to 0 over ``max_epochs`` (steadier final weights);
    ``constant`` keeps it."""
    weight_decay: float = 0.0
    """L2 penalty (classic, coupled: added to the gradient by Adam)."""
    l1: float = 0.0
    """L1 penalty on every parameter, added to the training loss: a learned prior's mean and
    scale and a latent discriminator's weights included, so with ``prior: learned`` it also
    pulls the prior toward zero mean."""
    ema_decay: float = 0.0
    """Decay of an exponential moving average of the weights (0: none), for models trained by
    their own objective: validation, checkpoints and the saved model use the average
    (``training.callbacks.WeightEMA``). A GAN averages its generator by
    ``adversarial.ema_decay`` instead."""
    beta_warmup_epochs: int = 0
    """Epochs over which the KL weight rises linearly to the model's beta in training (epoch e
    of W trains at beta (e + 1) / W); validation always scores the model's beta, so early
    stopping compares like with like."""
    patience: int = 5
    """Early stopping: epochs without validation improvement before stopping (0 disables)."""
    gradient_clip_val: float | None = None
    """Clip gradient norm (None: no clipping)."""
    accelerator: str = "auto"
    """Lightning accelerator: ``cpu``, ``gpu``, ``auto``."""
    devices: int | str = 1
    """Devices per node (``auto`` for all)."""
    num_nodes: int = 1
    """Machines; with several devices or nodes use ``strategy: ddp``."""
    strategy: str = "auto"
    """Lightning strategy: ``auto``, ``ddp``, ``ddp_spawn``, ..."""
    precision: str = "32-true"
    """Lightning precision, e.g. ``32-true``, ``bf16-mixed``."""
    compile: bool = False
    """Run the model's training loss (forward and backward) through ``torch.compile`` (ELBO
    training): fewer operator launches per step. Each batch size, and each value of a KL
    warm-up's beta, is compiled once, on first use; a compiler error falls back to plain
    execution with a warning."""
    progress_bar: bool = True
    """Show Lightning's progress bar."""
    limit_train_batches: float | int | None = None
    """Lightning's limit (fraction or count) for quick runs; None: the whole split."""
    max_loss: float | None = 1e6
    """A training loss larger than this in magnitude counts as diverged and stops the run, as a
    NaN or inf always does (the last epoch's checkpoint stays); VAE losses on this project's
    data stay under 2e4. None: only NaN and inf stop a run."""
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    """GAN training: learning rates, Adam's betas, n_critic, the generator's moving average."""
    checkpoint_every_n_steps: int = 50
    """Training steps between resumable checkpoints (``checkpoints/resume.ckpt``): what a
    ``kill -9`` can lose at most. SIGTERM/SIGINT also save one, after the current step."""

    def __post_init__(self) -> None:
        _require(self.max_epochs >= 1, "train.max_epochs", "must be >= 1", self.max_epochs)
        _require(
            self.checkpoint_every_n_steps >= 1,
            "train.checkpoint_every_n_steps",
            "must be >= 1",
            self.checkpoint_every_n_steps,
        )
        _require(self.lr > 0, "train.lr", "must be > 0", self.lr)
        _require(
            self.lr_schedule in LR_SCHEDULES,
            "train.lr_schedule",
            f"must be one of {LR_SCHEDULES}",
            self.lr_schedule,
        )
        _require(self.weight_decay >= 0, "train.weight_decay", "must be >= 0", self.weight_decay)
        _require(self.l1 >= 0, "train.l1", "must be >= 0", self.l1)
        _require(
            self.beta_warmup_epochs >= 0,
            "train.beta_warmup_epochs",
            "must be >= 0",
            self.beta_warmup_epochs,
        )
        _require(self.patience >= 0, "train.patience", "must be >= 0", self.patience)
        _require(0 <= self.ema_decay < 1, "train.ema_decay", "must be in [0, 1)", self.ema_decay)
        _require(
            self.max_loss is None or self.max_loss > 0,
            "train.max_loss",
            "must be > 0",
            self.max_loss,
        )


@dataclass(kw_only=True)
class EvalConfig:
    sampler: str = "gmm"
    """Latent sampler for unconditional generation (``prior``, ``gmm``, ...)."""
    sampler_options: dict[str, Any] = field(default_factory=dict)
    """Options of the sampler, e.g. ``{"n_components": 10}``."""
    n_unconditional: int = 1000
    """Unconditional samples scored for joint coherence."""
    audio_roundtrip_limit: int = 200
    """Test samples whose generated audio is also judged after Griffin-Lim (slow)."""
    judge_epochs: int = 20
    """Upper bound on judge training epochs (judges are cached per data set)."""
    fidelity_samples: int = 1000
    """Generated samples per sampler (and real test samples) behind the sampler table: joint
    coherence, FID, KID, precision/recall and mode coverage of each sampler."""
    batch_size: int = 256
    """Test rows per batch for every evaluation pass (generation, probes, likelihoods)."""
    probe: bool = True
    """Linear probes and k-means clustering of the codes (labelled data sets only)."""
    probe_max_train: int = 2000
    """Training codes a probe is fitted on at most (a seeded subset): bounds its time."""
    likelihood_k: int = 10
    """Importance samples K per test log-likelihood estimate (0 skips likelihoods)."""
    likelihood_rows: int = 200
    """Test rows whose likelihoods are estimated (the first ones, the same for every run)."""
    second_judges: bool = True
    """Score coherence again with a second, independent judge per modality."""
    latent_map: str = "auto"
    """The report's 2-D map of codes: ``tsne``, ``pca``, or ``auto`` (t-SNE up to 2,000 points,
    PCA beyond, where t-SNE gets slow)."""
    traversal_steps: int = 7
    """Values per latent traversal and points per interpolation in the report."""
    traversal_dims: int = 4
    """Latent dimensions traversed in the report (the most active ones)."""

    def __post_init__(self) -> None:
        _require(
            self.n_unconditional >= 1, "eval.n_unconditional", "must be >= 1", self.n_unconditional
        )
        _require(
            self.fidelity_samples >= 2,
            "eval.fidelity_samples",
            "must be >= 2 (FID needs two samples)",
            self.fidelity_samples,
        )
        _require(self.batch_size >= 1, "eval.batch_size", "must be >= 1", self.batch_size)
        _require(self.likelihood_k >= 0, "eval.likelihood_k", "must be >= 0", self.likelihood_k)
        _require(
            self.latent_map in LATENT_MAPS,
            "eval.latent_map",
            f"must be one of {LATENT_MAPS}",
            self.latent_map,
        )
        _require(
            self.traversal_steps >= 2, "eval.traversal_steps", "must be >= 2", self.traversal_steps
        )


@dataclass(kw_only=True)
class RunConfig:
    seed: int = 0
    """Seeds data splits, initialisation, batches, sampling."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    # --- YAML in and out -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"mmlatent_version": __version__, **dataclasses.asdict(self)}

    def to_yaml(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        d = {k: v for k, v in d.items() if k != "mmlatent_version"}
        return _build(cls, d, prefix="")

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read config: {err}") from err
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a config must be a mapping, got {type(loaded).__name__}")
        try:
            return cls.from_dict(loaded)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from err

    def with_overrides(self, overrides: list[str]) -> RunConfig:
        """Apply ``section.field=value`` strings (values parsed as YAML), e.g. ``train.lr=3e-4``."""
        d = dataclasses.asdict(self)
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep:
                raise ConfigError(f"override {item!r} must look like section.field=value")
            node = d
            *parents, leaf = key.strip().split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise ConfigError(f"override {item!r}: {part!r} is not a config section")
                node = node[part]
            node[leaf] = parse_value(raw, f"override {item!r}")
        return RunConfig.from_dict(d)


def parse_value(raw: str, what: str) -> Any:
    """A command-line value read as YAML (``3e-4``, ``[a, b]``, ``{k: v}``); bad YAML is a
    ``ConfigError`` naming ``what``."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as err:
        problem = str(err).strip().splitlines()[0]
        raise ConfigError(f"{what}: value {raw!r} is not valid YAML ({problem})") from None


def build_typed(cls: type, values: dict[str, Any], *, prefix: str = "") -> Any:
    """Any config-style dataclass from plain values (e.g. a sampler's options), types checked;
    an error names ``prefix`` + the field."""
    return _build(cls, values, prefix)


def _require(ok: bool, name: str, rule: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{name} {rule}, got {value!r}")


def _build(cls: type, d: Any, prefix: str) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and checking plain types."""
    if not isinstance(d, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {d!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ConfigError(f"unknown field {prefix}{unknown[0]}; valid fields: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in d.items():
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _check_type(value, hint, f"{prefix}{name}")
    try:
        return cls(**kwargs)
    except ConfigError as err:
        raise ConfigError(str(err)) from None


def _check_type(value: Any, hint: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    options = typing.get_args(hint) if origin in (typing.Union, types.UnionType) else (hint,)
    bases = [typing.get_origin(option) or option for option in options]
    if int in bases and isinstance(value, int) and not isinstance(value, bool):
        return value  # an int stays one where ints are allowed: limit_train_batches=1 is a count
    for option in options:
        base = typing.get_origin(option) or option
        if option is type(None) and value is None:
            return value
        if base is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if base is float and isinstance(value, str):
            # PyYAML (YAML 1.1) reads "3e-4" as a string: accept what Python reads as a float.
            try:
                return float(value)
            except ValueError:
                continue
        if base in (int, float) and isinstance(value, bool):
            continue
        if isinstance(base, type) and isinstance(value, base):
            return value
    raise ConfigError(f"{name} must be {hint}, got {value!r}")
