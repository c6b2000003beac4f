"""A second, independent audio judge: confirms the project's audio coherence figures.

The project's own audio judge (``mmlatent.evaluation.judges``) proved lenient, so every audio
coherence figure is checked by this one, which shares nothing with the project's pipeline except
the raw waveforms:

* its own front end, with librosa directly: mono at 8 kHz, a log-mel of 32 mels x 32 frames with
  25 ms windows and a 31.25 ms hop (about 1 s fills the 32 frames), floored 80 dB below the clip's
  peak and normalised per clip (zero mean, unit std), so the absolute level - which Griffin-Lim
  output gets wrong - does not matter;
* its own small CNN (three conv + norm blocks and a linear layer), trained with plain PyTorch
  on real recordings only, seeded, with light augmentation (random placement in time, small speed
  changes, gain, white noise, narrow time/mel masks). The norm is BatchNorm (the judge every
  results file so far used) or, with ``norm="group"``, GroupNorm: per-clip statistics, as the
  project's own judges use, since BatchNorm's running statistics come from real clips and
  generated ones are smoother (``docs/evaluation.md``, and ``judge_norms.py`` for what it
  changes here);
* its own training data: FSDD's official train takes for ``avmnist`` (held out: takes 0-4, the
  clips avmnist's test rows use), and for ``digits`` the ten recordings in the ``spokennumbers``
  wheel, perturbed afresh every epoch (held out: a separately seeded set of perturbed clips).

Train and cache both judges, printing their held-out accuracy on real clips::

    python benchmarks/independent_judge.py [avmnist] [digits] [--cache-dir DIR] [--force]

From a benchmark::

    judge = judge_for("avmnist")               # cached in $MMLATENT_CACHE/independent-judge
    scores = audio_coherence(run, data, judge)  # {"image->audio": 0.71, ...}
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

VERSION = 1
"""Bumped whenever the front end, network or training recipe changes: old caches are ignored."""

SAMPLE_RATE = 8000
N_MELS = 32
FRAMES = 32
WIN_LENGTH = 200  # 25 ms at 8 kHz
N_FFT = 256
HOP_LENGTH = 250  # 31.25 ms: 32 centred frames span (32 - 1) * 250 samples, about 1 s
CLIP_SAMPLES = (FRAMES - 1) * HOP_LENGTH  # 7,750 samples give exactly 32 centred frames
TOP_DB = 80.0
POWER_FLOOR = 1e-10

FSDD_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")
FSDD_TEST_TAKES = range(5)


class JudgeDataError(RuntimeError):
    """A training source is missing (tests and benchmarks skip on it)."""


# --- front end -----------------------------------------------------------------------------------
def as_samples(wave: Any, sr: int | None) -> np.ndarray:
    """One clip, mono float32 at 8 kHz: a 1-D array at ``sr`` Hz or an object with ``samples`` and
    ``sample_rate`` (such as the project's ``Waveform``; only those two attributes are read)."""
    if hasattr(wave, "samples") and hasattr(wave, "sample_rate"):
        samples, rate = np.asarray(wave.samples), int(wave.sample_rate)
    else:
        if sr is None:
            raise ValueError("a sample rate is needed for plain arrays")
        samples, rate = np.asarray(wave), int(sr)
    samples = samples.astype(np.float32)
    if samples.ndim == 2:  # (T, channels) as soundfile reads it
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise ValueError(f"a clip must be 1-D (mono), got shape {samples.shape}")
    if rate != SAMPLE_RATE:
        import librosa

        samples = librosa.resample(samples, orig_sr=rate, target_sr=SAMPLE_RATE)
    return np.nan_to_num(samples.astype(np.float32))


def loudest_window(samples: np.ndarray, n: int = CLIP_SAMPLES) -> np.ndarray:
    """Exactly ``n`` samples: zero-padded at the end, or the ``n``-sample window of most energy."""
    if len(samples) <= n:
        return np.pad(samples, (0, n - len(samples)))
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[n:] - energy[:-n]))
    return samples[start : start + n]


def log_mel(clips: np.ndarray) -> np.ndarray:
    """Clips (N, CLIP_SAMPLES) at 8 kHz -> per-clip normalised log-mels (N, 32, 32) float32."""
    import librosa

    clips = np.asarray(clips, dtype=np.float32)
    if clips.ndim != 2 or clips.shape[1] != CLIP_SAMPLES:
        raise ValueError(f"expected (N, {CLIP_SAMPLES}) clips, got shape {clips.shape}")
    mel = librosa.feature.melspectrogram(
        y=clips,
        sr=SAMPLE_RATE,
        n_fft=N_FFT,
        win_length=WIN_LENGTH,
        hop_length=HOP_LENGTH,
        n_mels=N_MELS,
        fmin=0.0,
        fmax=SAMPLE_RATE / 2,
        center=True,
        power=2.0,
    )  # (N, 32, 32)
    db = 10.0 * np.log10(np.maximum(mel, POWER_FLOOR))
    db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - TOP_DB)  # 80 dB below each peak
    db = _fit_frames(db)
    mean = db.mean(axis=(1, 2), keepdims=True)
    std = db.std(axis=(1, 2), keepdims=True)
    return ((db - mean) / np.maximum(std, 1e-5)).astype(np.float32)


def _fit_frames(db: np.ndarray) -> np.ndarray:
    """Pad (with each clip's floor) or crop the frame axis to FRAMES."""
    if db.shape[-1] >= FRAMES:
        return db[..., :FRAMES]
    floor = db.min(axis=(1, 2), keepdims=True)
    pad = np.broadcast_to(floor, (*db.shape[:-1], FRAMES - db.shape[-1]))
    return np.concatenate([db, pad], axis=-1)


def front_end(waveforms: Sequence[Any], sr: int | None = None) -> np.ndarray:
    """Clips of any length and rate -> (N, 32, 32): the features ``predict`` sees."""
    if not len(waveforms):
        return np.zeros((0, N_MELS, FRAMES), dtype=np.float32)
    return log_mel(np.stack([loudest_window(as_samples(w, sr)) for w in waveforms]))


# --- augmentation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Augment:
    """Light, per-epoch perturbations of the real training clips."""

    max_delay_s: float = 0.25
    """Onsets are placed up to this late (and up to 50 ms early, cutting the start)."""
    speed: tuple[float, float] = (0.92, 1.08)
    """Playback-rate factor (pitch and tempo together), uniform."""
    gain_db: tuple[float, float] = (-20.0, 0.0)
    noise_probability: float = 0.6
    snr_db: tuple[float, float] = (5.0, 40.0)
    """White noise at this signal-to-noise ratio, uniform, on ``noise_probability`` of the clips."""
    mask_probability: float = 0.5
    max_mask: int = 4
    """One time mask and one mel mask of up to this many rows, on ``mask_probability`` of clips."""


def change_speed(samples: np.ndarray, factor: float) -> np.ndarray:
    """Read the clip ``factor`` samples per output sample (linear interpolation)."""
    if factor == 1.0 or len(samples) < 2:
        return samples
    positions = np.arange(0.0, len(samples) - 1, factor)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def place(samples: np.ndarray, offset: int, n: int = CLIP_SAMPLES) -> np.ndarray:
    """``n`` samples holding the clip from ``offset`` on (a negative offset cuts its start)."""
    out = np.zeros(n, dtype=np.float32)
    src = samples[max(0, -offset) :]
    start = max(0, offset)
    k = min(len(src), n - start)
    if k > 0:
        out[start : start + k] = src[:k]
    return out


def augment_clips(
    clips: Sequence[np.ndarray], aug: Augment, rng: np.random.Generator
) -> np.ndarray:
    """8 kHz clips of any length -> (N, CLIP_SAMPLES), each perturbed afresh."""
    out = np.empty((len(clips), CLIP_SAMPLES), dtype=np.float32)
    early = int(0.05 * SAMPLE_RATE)
    for i, clip in enumerate(clips):
        clip = change_speed(clip, float(rng.uniform(*aug.speed)))
        slack = CLIP_SAMPLES - len(clip)
        if slack >= 0:
            offset = int(rng.integers(-early, min(slack, int(aug.max_delay_s * SAMPLE_RATE)) + 1))
        else:
            offset = -int(rng.integers(0, -slack + 1))  # a random 1 s window of a long clip
        wave = place(clip, offset) * np.float32(10.0 ** (rng.uniform(*aug.gain_db) / 20.0))
        if rng.random() < aug.noise_probability:
            rms = float(np.sqrt(np.mean(wave**2))) + 1e-8
            std = rms * 10.0 ** (-rng.uniform(*aug.snr_db) / 20.0)
            wave = wave + rng.standard_normal(CLIP_SAMPLES).astype(np.float32) * np.float32(std)
        out[i] = wave
    return out


def mask_features(x: np.ndarray, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """Narrow time and mel masks (set to 0, the per-clip mean) on some of the clips."""
    x = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < aug.mask_probability):
        t, f = rng.integers(0, aug.max_mask + 1, size=2)
        t0, f0 = rng.integers(0, FRAMES - t + 1), rng.integers(0, N_MELS - f + 1)
        x[i, :, t0 : t0 + t] = 0.0
        x[i, f0 : f0 + f, :] = 0.0
    return x


# --- network -------------------------------------------------------------------------------------
NORMS = ("batch", "group")
GROUPS = 8
"""GroupNorm's groups per layer (4, 8 and 16 channels each at the default width)."""


def norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(GROUPS, channels)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


class JudgeNet(nn.Module):
    """(N, 1, 32, 32) -> logits: three conv-norm-ReLU-maxpool blocks, dropout, linear."""

    def __init__(self, n_classes: int, width: int = 32, norm: str = "batch") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c in (width, 2 * width, 4 * width):
            layers += [
                nn.Conv2d(c_in, c, 3, padding=1, bias=False),
                norm_layer(norm, c),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in = c
        self.features = nn.Sequential(*layers)  # 32 -> 16 -> 8 -> 4
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * width * 4 * 4, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-3
    width: int = 32
    seed: int = 0
    norm: str = "batch"
    """``NORMS``: "batch" (the judge of every earlier results file) or "group"."""
    augment: Augment = field(default_factory=Augment)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        aug = d.get("augment", {})
        aug = Augment(**{k: tuple(v) if isinstance(v, list) else v for k, v in aug.items()})
        return cls(**{**{k: v for k, v in d.items() if k != "augment"}, "augment": aug})


# --- the judge -----------------------------------------------------------------------------------
class IndependentAudioJudge:
    """Labels audio clips; trained on real clips only.

    ``held_out_accuracy`` is its accuracy on held-out real clips when ``judge_for`` trained it
    (``None`` when fitted directly); ``source`` says what it was trained and held out on.
    """

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()
        self.net: JudgeNet | None = None
        self.classes: np.ndarray = np.zeros(0, dtype=np.int64)
        self.held_out_accuracy: float | None = None
        self.source: dict[str, Any] = {}
        self.history: list[dict[str, float]] = []

    # training
    def fit(
        self,
        waveforms: Sequence[Any],
        sr: int | None,
        labels: Sequence[int] | np.ndarray,
        *,
        verbose: bool = False,
    ) -> IndependentAudioJudge:
        """Train from scratch on real clips (any lengths; ``sr`` for plain arrays)."""
        cfg = self.config
        labels = np.asarray(labels, dtype=np.int64)
        if len(labels) != len(waveforms) or len(labels) == 0:
            raise ValueError(f"{len(waveforms)} clips but {len(labels)} labels")
        self.classes = np.unique(labels)
        targets = torch.from_numpy(np.searchsorted(self.classes, labels))
        clips = [as_samples(w, sr) for w in waveforms]
        rng = np.random.default_rng(cfg.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            net = JudgeNet(len(self.classes), cfg.width, cfg.norm)
            opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
            steps = cfg.epochs * -(-len(clips) // cfg.batch_size)
            schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
            gen = torch.Generator().manual_seed(cfg.seed)
            self.history = []
            for epoch in range(cfg.epochs):
                started = time.perf_counter()
                x = mask_features(log_mel(augment_clips(clips, cfg.augment, rng)), cfg.augment, rng)
                x = torch.from_numpy(x).unsqueeze(1)
                net.train()
                total, correct, loss_sum = 0, 0, 0.0
                for batch in torch.randperm(len(x), generator=gen).split(cfg.batch_size):
                    if len(batch) < 2:  # BatchNorm needs two rows
                        continue
                    logits = net(x[batch])
                    loss = nn.functional.cross_entropy(logits, targets[batch], label_smoothing=0.05)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    schedule.step()
                    total += len(batch)
                    correct += int((logits.argmax(1) == targets[batch]).sum())
                    loss_sum += float(loss.detach()) * len(batch)
                row = {
                    "epoch": epoch + 1,
                    "loss": loss_sum / max(total, 1),
                    "train_accuracy": correct / max(total, 1),
                    "seconds": time.perf_counter() - started,
                }
                self.history.append(row)
                if verbose:
                    print(
                        f"  epoch {row['epoch']:2d}: loss {row['loss']:.3f}, "
                        f"augmented train accuracy {row['train_accuracy']:.3f} "
                        f"({row['seconds']:.1f}s)",
                        flush=True,
                    )
        self.net = net.eval()
        return self

    # inference
    @torch.no_grad()
    def predict(
        self, waveforms: Sequence[Any], sr: int | None = None, *, batch_size: int = 256
    ) -> np.ndarray:
        """Labels (N,) of clips of any lengths (``sr`` for plain arrays)."""
        if self.net is None:
            raise RuntimeError("the judge is not trained: call fit or load first")
        x = torch.from_numpy(front_end(waveforms, sr)).unsqueeze(1)
        self.net.eval()
        out = [self.net(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
        idx = torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)
        return self.classes[idx]

    def accuracy(
        self, waveforms: Sequence[Any], sr: int | None, labels: Sequence[int] | np.ndarray
    ) -> float:
        labels = np.asarray(labels)
        if len(labels) == 0:
            return float("nan")
        return float(np.mean(self.predict(waveforms, sr) == labels))

    # persistence: safetensors weights + a JSON card, nothing pickled
    def save(self, path: str | Path) -> Path:
        """Weights to ``path`` (.safetensors), everything else to the .json beside it."""
        if self.net is None:
            raise RuntimeError("nothing to save: the judge is not trained")
        path = Path(path).with_suffix(".safetensors")
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        card = {
            "version": VERSION,
            "config": self.config.to_dict(),
            "classes": self.classes.tolist(),
            "held_out_accuracy": self.held_out_accuracy,
            "source": self.source,
            "history": self.history,
        }
        tmp = path.with_suffix(".tmp")
        save_file(state, str(tmp))
        os.replace(tmp, path)
        card_path = path.with_suffix(".json")
        card_path.with_suffix(".jtmp").write_text(json.dumps(card, indent=2))
        os.replace(card_path.with_suffix(".jtmp"), card_path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> IndependentAudioJudge:
        path = Path(path).with_suffix(".safetensors")
        card = json.loads(path.with_suffix(".json").read_text())
        if card.get("version") != VERSION:
            raise ValueError(f"{path}: judge version {card.get('version')}, expected {VERSION}")
        judge = cls(TrainConfig.from_dict(card["config"]))
        judge.classes = np.asarray(card["classes"], dtype=np.int64)
        judge.held_out_accuracy = card.get("held_out_accuracy")
        judge.source = card.get("source", {})
        judge.history = card.get("history", [])
        net = JudgeNet(len(judge.classes), judge.config.width, judge.config.norm)
        net.load_state_dict(load_file(str(path)))
        judge.net = net.eval()
        return judge


# --- training data -------------------------------------------------------------------------------
def shared_data_root() -> Path:
    """``<repo>/../shared/data``, looked for above the working directory and above this file."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder.parent / "shared/data").is_dir():
                return folder.parent / "shared" / "data"
    raise JudgeDataError("no ../shared/data next to the project (FSDD lives there)")


def fsdd_clips(split: str, root: Path | None = None) -> tuple[list[np.ndarray], int, np.ndarray]:
    """FSDD ``"train"`` (takes 5-49) or ``"test"`` (takes 0-4) recordings: (clips, 8000, digits)."""
    import soundfile as sf

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = (root or shared_data_root()) / "fsdd" / "recordings"
    if not folder.is_dir():
        raise JudgeDataError(f"{folder}: FSDD recordings not found")
    clips, labels = [], []
    for path in sorted(folder.glob("*.wav")):
        match = FSDD_NAME.match(path.name)
        if match is None or (int(match[3]) in FSDD_TEST_TAKES) != (split == "test"):
            continue
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
        clips.append(as_samples(samples.mean(axis=1), rate))
        labels.append(int(match[1]))
    if not clips:
        raise JudgeDataError(f"{folder}: no FSDD {split} recordings")
    return clips, SAMPLE_RATE, np.asarray(labels, dtype=np.int64)


def spokennumbers_clips() -> tuple[list[np.ndarray], int, np.ndarray]:
    """The ten recordings ``digits`` is built from (``spokennumbers/default/{0..9}.wav``),
    peak-normalised: (clips, 8000, digits)."""
    import soundfile as sf

    spec = importlib.util.find_spec("spokennumbers")  # not imported: it needs pydub
    if spec is None or not spec.submodule_search_locations:
        raise JudgeDataError("the 'spokennumbers' package is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "default"
    clips = []
    for d in range(10):
        samples, rate = sf.read(str(folder / f"{d}.wav"), dtype="float32", always_2d=True)
        clip = as_samples(samples.mean(axis=1), rate)
        clips.append(clip / max(float(np.abs(clip).max()), 1e-8))
    return clips, SAMPLE_RATE, np.arange(10, dtype=np.int64)


def perturbed_spokennumbers(
    n_per_digit: int, seed: int
) -> tuple[list[np.ndarray], int, np.ndarray]:
    """Held-out ``digits``-like clips: each recording at a random speed (0.85-1.15), gain (-8-0
    dB), onset (0-0.12 s) and white-noise level (std 0.0005-0.01): the ranges ``digits`` documents,
    drawn here with this module's own generator and code."""
    base, sr, _ = spokennumbers_clips()
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for d in range(10):
        for _ in range(n_per_digit):
            wave = change_speed(base[d], float(rng.uniform(0.85, 1.15)))
            wave = place(wave, int(rng.integers(0, int(0.12 * sr) + 1)), len(wave) + int(0.12 * sr))
            wave = wave * np.float32(10.0 ** (rng.uniform(-8.0, 0.0) / 20.0))
            wave = wave + rng.standard_normal(len(wave)).astype(np.float32) * np.float32(
                rng.uniform(0.0005, 0.01)
            )
            clips.append(np.clip(wave, -1.0, 1.0))
            labels.append(d)
    return clips, sr, np.asarray(labels, dtype=np.int64)


# --- one cached judge per data set ---------------------------------------------------------------
RECIPES: dict[str, TrainConfig] = {
    "avmnist": TrainConfig(epochs=20),
    # ten recordings only: wider speed changes stand in for the speakers there are not
    "digits": TrainConfig(epochs=12, augment=Augment(speed=(0.8, 1.2))),
}
DIGITS_COPIES = 200
"""Each spokennumbers recording appears this many times per epoch, perturbed afresh each time."""


def default_cache_dir() -> Path:
    """``$MMLATENT_CACHE/independent-judge``, or ``~/.cache/mmlatent/independent-judge``."""
    root = os.environ.get("MMLATENT_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "mmlatent") / "independent-judge"


def train_for(
    dataset_name: str, *, norm: str = "batch", verbose: bool = False
) -> IndependentAudioJudge:
    """Train (uncached) the judge for ``"avmnist"`` or ``"digits"`` and score its held-out clips."""
    if dataset_name not in RECIPES:
        raise ValueError(f"no independent audio judge for {dataset_name!r}; have {list(RECIPES)}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    judge = IndependentAudioJudge(replace(RECIPES[dataset_name], norm=norm))
    if dataset_name == "avmnist":
        train_x, sr, train_y = fsdd_clips("train")
        test_x, _, test_y = fsdd_clips("test")
        judge.source = {
            "train": f"FSDD takes 5-49 ({len(train_y)} clips)",
            "heldout": f"FSDD takes 0-4, the official test split ({len(test_y)} clips)",
        }
    else:
        base_x, sr, base_y = spokennumbers_clips()
        train_x, train_y = base_x * DIGITS_COPIES, np.tile(base_y, DIGITS_COPIES)
        test_x, _, test_y = perturbed_spokennumbers(100, seed=12345)
        judge.source = {
            "train": f"spokennumbers/default/0-9.wav, x{DIGITS_COPIES} perturbed per epoch",
            "heldout": f"{len(test_y)} perturbed spokennumbers clips, seeded apart (12345)",
        }
    judge.fit(train_x, sr, train_y, verbose=verbose)
    judge.held_out_accuracy = judge.accuracy(test_x, sr, test_y)
    return judge


def judge_for(
    dataset_name: str,
    cache_dir: Path | None = None,
    *,
    norm: str = "batch",
    force: bool = False,
    verbose: bool = False,
) -> IndependentAudioJudge:
    """The independent judge for ``"avmnist"`` or ``"digits"``: trained once, then loaded from
    ``cache_dir`` (default ``default_cache_dir()``). ``held_out_accuracy`` holds its accuracy on
    held-out real clips. Raises ``JudgeDataError`` when the training recordings are missing.
    ``norm``: "batch" (cached as before) or "group" (cached beside it, ``...-group``)."""
    suffix = "" if norm == "batch" else f"-{norm}"
    name = f"{dataset_name}-v{VERSION}{suffix}.safetensors"
    path = Path(cache_dir or default_cache_dir()) / name
    if not force and path.is_file() and path.with_suffix(".json").is_file():
        return IndependentAudioJudge.load(path)
    judge = train_for(dataset_name, norm=norm, verbose=verbose)
    judge.save(path)
    return judge


# --- scoring a run -------------------------------------------------------------------------------
def audio_modality(run: Any, data: Any) -> Any:
    """The run's own audio modality (its Griffin-Lim settings), else the data set's."""
    modalities = getattr(run, "modalities", None) or {}
    return modalities.get("audio", data.modalities["audio"])


def waveforms(audio: Any, mels: torch.Tensor) -> list[Any]:
    """Generated log-mels -> waveforms through the run's audio modality (Griffin-Lim)."""
    return list(audio.postprocess_many(mels.detach().float().cpu()))


def pick_rows(rows: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    """At most ``limit`` of ``rows``, a seeded choice kept in order (all of them if fewer)."""
    if len(rows) <= limit:
        return rows
    pick = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))[:limit]
    return rows[pick.sort().values]


def audio_coherence(
    run: Any,
    data: Any,
    judge: IndependentAudioJudge,
    *,
    limit: int = 500,
    seed: int = 0,
    split: str = "test",
    batch_size: int = 250,
    temperature: float = 1.0,
) -> dict[str, float]:
    """Fraction of generated audio the independent judge labels as its source row's label.

    For every non-empty subset S of the run's non-audio modalities, ``generated_waveforms``
    from S (up to ``limit`` rows), heard by the judge. Keys are the project's:
    ``"image->audio"``, ``"image+text->audio"``. Empty when the run has no audio.
    """
    from mmlatent.evaluation.coherence import direction_key

    if "audio" not in run.model.modalities:
        return {}
    others = [m for m in run.model.modalities if m != "audio" and m in data.tensors]
    scores: dict[str, float] = {}
    for k in range(1, len(others) + 1):
        for sources in combinations(others, k):
            waves, labels = generated_waveforms(
                run,
                data,
                sources,
                limit=limit,
                seed=seed,
                split=split,
                batch_size=batch_size,
                temperature=temperature,
            )
            if len(labels) > 0:
                scores[direction_key(sources, "audio")] = float(
                    np.mean(judge.predict(waves) == labels)
                )
    return scores


def generated_waveforms(
    run: Any,
    data: Any,
    sources: Sequence[str],
    *,
    limit: int = 500,
    seed: int = 0,
    split: str = "test",
    batch_size: int = 250,
    temperature: float = 1.0,
) -> tuple[list[Any], np.ndarray]:
    """Audio generated from ``sources`` for up to ``limit`` labelled ``split`` rows that have
    them (the same rows, and the same latent noise, for a given seed), as waveforms through the
    run's Griffin-Lim; and those rows' labels. The model is left in the mode it was in."""
    from mmlatent.evaluation.coherence import rows_with

    model = run.model
    audio = audio_modality(run, data)
    rows = pick_rows(rows_with(data, split, list(sources)), limit, seed)
    device = next(model.parameters()).device
    devices = [device.index or 0] if device.type == "cuda" else []
    was_training = model.training
    model.eval()
    waves: list[Any] = []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)  # each direction draws the same latent noise
            for chunk in rows.split(batch_size):
                given = {m: data.tensors[m][chunk].to(device) for m in sources}
                out = model.generate(given=given, targets=["audio"], temperature=temperature)
                waves += waveforms(audio, out["audio"])
    finally:
        model.train(was_training)
    return waves, data.labels[rows].numpy()


def blurred(mels: torch.Tensor, sigma: float) -> torch.Tensor:
    """Log-mels (..., mels, frames) smoothed by a Gaussian of ``sigma`` bins along both axes."""
    from scipy.ndimage import gaussian_filter

    if sigma <= 0:
        return mels
    axes = (0,) * (mels.dim() - 2) + (sigma, sigma)
    return torch.as_tensor(gaussian_filter(mels.numpy(), sigma=axes, mode="nearest"))


def griffin_lim_ceiling(
    data: Any,
    judge: IndependentAudioJudge,
    *,
    limit: int = 500,
    seed: int = 0,
    split: str = "test",
    blur: float = 0.0,
) -> float:
    """The judge's accuracy on REAL test log-mels sent through the same Griffin-Lim: the most a
    generator can score here (its reconstruction is no better than the real mel). With ``blur``
    the real log-mels are first smoothed (``blurred``): how the judge takes detail lost."""
    waves, labels = real_waveforms(data, limit=limit, seed=seed, split=split, blur=blur)
    return judge.accuracy(waves, None, labels)


def real_waveforms(
    data: Any, *, limit: int = 500, seed: int = 0, split: str = "test", blur: float = 0.0
) -> tuple[list[Any], np.ndarray]:
    """Up to ``limit`` real ``split`` log-mels (the same rows for a given seed), blurred by
    ``blur`` bins (``blurred``), as waveforms through the data set's Griffin-Lim; and their
    labels."""
    from mmlatent.evaluation.coherence import rows_with

    rows = pick_rows(rows_with(data, split, ["audio"]), limit, seed)
    labels = data.labels[rows].numpy()
    if len(rows) == 0:
        return [], labels
    waves = waveforms(data.modalities["audio"], blurred(data.tensors["audio"][rows], blur))
    return waves, labels


# --- scripts that hear several runs (audio_errors.py, audio_remedies.py) ------------------------
def run_arguments(description: str) -> argparse.ArgumentParser:
    """A parser for runs to hear, a ``--label`` per run, a results ``--tag`` and ``--rows``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--label", action="append", default=[], help="one per run, in order")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--rows", type=int, default=1000)
    return parser


def labelled_runs(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> list[tuple[str, Path]]:
    """(label, run) pairs; a run's path is its label when no ``--label`` is given."""
    labels = args.label or [str(p) for p in args.runs]
    if len(labels) != len(args.runs):
        parser.error("give one --label per run, or none")
    return list(zip(labels, args.runs, strict=True))


def write_results(results: dict[str, Any], path: Path, table: str) -> None:
    """``path`` (.json) and its Markdown ``table`` beside it, the table printed too."""
    path.write_text(json.dumps(results, indent=2))
    path.with_suffix(".md").write_text(table)
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", default=["avmnist", "digits"], choices=[*RECIPES])
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--force", action="store_true", help="retrain even when cached")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--norm", choices=NORMS, default="batch", help="the judge's norm layers")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.datasets:
        started = time.perf_counter()
        print(f"{name}:", flush=True)
        judge = judge_for(name, args.cache_dir, norm=args.norm, force=args.force, verbose=True)
        print(
            f"  held-out real accuracy {judge.held_out_accuracy:.4f} "
            f"on {judge.source.get('heldout')} ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
