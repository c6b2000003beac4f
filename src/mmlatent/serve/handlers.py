"""What the page's buttons do, as plain functions of a :class:`ServeState` and widget values.

Gradio calls these through ``app``; tests call them directly. Each writes what it makes (PNG,
WAV, spectrogram PNG) into a fresh folder under ``state.out_dir``, the only folder the app serves
files from, and returns the paths. Bad input raises ``ValueError`` (``UploadError``, ``DataError``)
with a message for the page.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mmlatent.data.audio import Waveform
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.registry import SAMPLERS
from mmlatent.report.media import spectrogram_png, wav_bytes
from mmlatent.run import Run
from mmlatent.serve.ratings import Judgement, RatingStore
from mmlatent.serve.uploads import (
    UploadError,
    audio_from_widget,
    check_text,
    image_from_widget,
)
from mmlatent.workflows import load_run_data, run_sampler_name, unconditional_outputs

MAX_N = 16
"""Most items one request may ask for: keeps one person from holding the CPU for long."""
MAX_TEMPERATURE = 2.0
"""Highest sampling temperature offered: twice a draw's distance from the mean is already far
outside what the decoders were trained on."""
MAX_STEPS = 16
"""Most interpolation or traversal steps."""
GAP_SECONDS = 0.15
"""Silence between clips when an exploration's audio is joined into one clip."""


@dataclass
class ServeState:
    """What every handler needs: the run, where outputs go, and the data behind samplers and
    real items (loaded on first use, since generation alone never needs it)."""

    run: Run
    out_dir: Path
    """The only folder the app serves files from; one subfolder per request."""
    data: MultimodalData | None = None
    other: Run | None = None
    """A second run to compare against in the Rate tab (else: real against generated)."""
    store: RatingStore = field(init=False)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.store = RatingStore.for_run(self.run.path)
        if self.other is None:
            return
        if self.other.model.specs != self.run.model.specs:
            raise ValueError("the compared run must have the same modalities and shapes")
        if system_name(self.other) == system_name(self.run):
            raise ValueError(
                "the two runs' folders share a name, which names them in the ratings; rename one"
            )

    def dataset(self) -> MultimodalData:
        if self.data is None:
            self.data = load_run_data(self.run)
        return self.data

    def new_folder(self) -> Path:
        folder = self.out_dir / uuid.uuid4().hex
        folder.mkdir()
        return folder


@dataclass
class Outputs:
    """Files and texts of one request, in item order per kind; ``labels`` caption the items."""

    images: list[Path] = field(default_factory=list)
    audio: list[Path] = field(default_factory=list)
    spectrograms: list[Path] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    joined_audio: Path | None = None
    """Every clip in item order as one WAV (explorations: hear the path at once)."""


# --- inputs ------------------------------------------------------------------------------------


def modality_of_kind(run: Run, kind: str) -> str | None:
    """The run's first modality of ``kind`` (the page has one text, image and audio input)."""
    return next((name for name, m in run.modalities.items() if m.kind == kind), None)


def read_inputs(run: Run, text: Any = None, image: Any = None, audio: Any = None) -> dict:
    """Widget values -> ``{modality: raw}`` of the ones given, each checked; a value for a
    modality the run lacks is refused rather than ignored."""
    raws = {
        "text": check_text(text),
        "image": prepare_image(image_from_widget(image)),
        "audio": audio_from_widget(audio),
    }
    given = {}
    for kind, raw in raws.items():
        if raw is None:
            continue
        name = modality_of_kind(run, kind)
        if name is None:
            raise UploadError(f"this run has no {kind}; it has {', '.join(run.modalities)}")
        if kind == "text":
            run.modalities[name].check(raw)  # type: ignore[attr-defined]
        given[name] = raw
    return given


def prepare_image(image: np.ndarray | None) -> np.ndarray | None:
    """Drawings come as RGBA with transparent paper: lay them on black, the background of the
    built-in digits, so white ink on the canvas reads as a digit. Other images pass as they are."""
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return image
    alpha = image[..., 3:].astype(np.float32) / 255.0  # (H, W, 1)
    if alpha.max() == 0:
        return None  # an untouched canvas: nothing was drawn
    return np.round(image[..., :3] * alpha).astype(np.uint8)  # (H, W, 3) over black


def read_temperature(value: Any) -> float:
    temperature = float(value)
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise UploadError(f"temperature must be between 0 and {MAX_TEMPERATURE}, got {temperature}")
    return temperature


def check_count(value: Any, name: str, top: int) -> int:
    count = int(value)
    if not 1 <= count <= top:
        raise UploadError(f"{name} must be between 1 and {top}, got {count}")
    return count


# --- outputs -----------------------------------------------------------------------------------


def render(run: Run, outputs: dict[str, list[Any]], folder: Path, labels: list[str]) -> Outputs:
    """Generated raws -> files: PNG images, WAV clips (peak-normalised, as in the report, since
    Griffin-Lim output is often quiet) with a spectrogram of each, and texts."""
    result = Outputs(labels=labels)
    for name, items in outputs.items():
        modality = run.modalities[name]
        for i, raw in enumerate(items):
            stem = folder / f"{i:03d}_{name}"
            if modality.kind == "audio":
                result.audio.append(write_wav(raw, stem.with_suffix(".wav")))
                result.spectrograms.append(write_spectrogram(run, name, raw, stem))
            elif modality.kind == "text":
                result.texts.append(str(raw))
            elif modality.kind == "image":
                result.images.append(modality.save(raw, stem))
    return result


def write_wav(wave: Waveform, path: Path) -> Path:
    path.write_bytes(wav_bytes(wave.samples, wave.sample_rate))
    return path


def write_spectrogram(run: Run, name: str, wave: Waveform, stem: Path) -> Path:
    """The log-mel of what the player plays (re-analysed from the waveform), as a picture."""
    codec = run.modalities[name].codec  # type: ignore[attr-defined]
    mel = codec.encode(wave.samples[None])[0]  # (n_mels, frames)
    path = stem.with_name(stem.name + "_spectrogram.png")
    path.write_bytes(spectrogram_png(mel, scale=4))
    return path


def join_clips(paths: list[Path], folder: Path) -> Path | None:
    """One WAV of every clip with a short gap between, so a path through latent space is heard."""
    if not paths:
        return None
    import soundfile as sf

    clips, rate = [], 8000
    for path in paths:
        samples, rate = sf.read(str(path), dtype="float32")
        clips += [samples, np.zeros(int(GAP_SECONDS * rate), dtype=np.float32)]
    return write_wav(Waveform(np.concatenate(clips), rate), folder / "joined.wav")


# --- Generate and Sample -----------------------------------------------------------------------


def generate(
    state: ServeState,
    text: Any = None,
    image: Any = None,
    audio: Any = None,
    n: Any = 4,
    seed: Any = 0,
    temperature: Any = 1.0,
) -> Outputs:
    """Every modality not given: ``n`` draws from the posterior of what was given, pulled toward
    its mean by ``temperature`` (``Run.generate``), or at temperature 0 one output decoded from
    the mean (the most typical answer)."""
    run = state.run
    given = read_inputs(run, text, image, audio)
    if not given:
        raise UploadError("give a text, an image or a sound to generate from")
    temperature = read_temperature(temperature)
    posterior_mean = temperature == 0
    n = 1 if posterior_mean else check_count(n, "n", MAX_N)
    targets = [m for m in run.modalities if m not in given] or list(run.modalities)
    outputs = run.generate(
        given={m: [raw] for m, raw in given.items()},
        targets=targets,
        n=n,
        seed=int(seed),
        temperature=temperature,
    )
    source = "+".join(given)
    labels = [f"{source} → mean"] if posterior_mean else [f"{source} → #{i + 1}" for i in range(n)]
    return render(run, outputs, state.new_folder(), labels)


def sample(
    state: ServeState, n: Any = 4, seed: Any = 0, sampler: str = "run", temperature: Any = 1.0
) -> Outputs:
    """Unconditional samples of every modality: from the run's fitted latent sampler (``run``,
    fitted once to the training codes) or from the prior (``prior``), their draws tempered by
    ``temperature`` (``LatentSampler.sample``)."""
    run, n = state.run, check_count(n, "n", MAX_N)
    temperature = read_temperature(temperature)
    name = run_sampler_name(run) if sampler == "run" else sampler
    data = state.dataset() if SAMPLERS.get(name).fitted_to_codes else None
    outputs = unconditional_outputs(
        run, n=n, sampler=name, seed=int(seed), data=data, temperature=temperature
    )
    return render(run, outputs, state.new_folder(), [f"{name} #{i + 1}" for i in range(n)])


# --- Explore -----------------------------------------------------------------------------------


def embed(run: Run, given: dict[str, Any]) -> Tensor:
    """The posterior mean of the given raws: one code (1, D)."""
    if not run.model.capabilities.encodes:
        raise UploadError(
            "this run's model has no encoder, so inputs cannot be placed in latent space"
        )
    data = run.preprocess({m: [raw] for m, raw in given.items()})
    mask = {m: torch.ones(1, dtype=torch.bool) for m in data}
    run.model.eval()
    return run.model.embed(data, mask)  # (1, D)


def decode_path(state: ServeState, codes: Tensor, labels: list[str]) -> Outputs:
    """Every modality of each code (S, D), side by side, plus the clips joined into one."""
    folder = state.new_folder()
    outputs = state.run.generate(latent=codes, seed=0)
    result = render(state.run, outputs, folder, labels)
    result.joined_audio = join_clips(result.audio, folder)
    return result


def interpolate(
    state: ServeState, start: dict[str, Any], end: dict[str, Any], steps: Any = 7
) -> Outputs:
    """Straight line between the codes of two inputs (each a ``text``/``image``/``audio`` dict of
    widget values), decoded at ``steps`` evenly spaced points."""
    steps = check_count(steps, "steps", MAX_STEPS)
    given_a, given_b = read_inputs(state.run, **start), read_inputs(state.run, **end)
    if not given_a or not given_b:
        raise UploadError("give both a start and an end input to interpolate between")
    z_a, z_b = embed(state.run, given_a), embed(state.run, given_b)  # (1, D) each
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (S, 1)
    codes = (1 - t) * z_a + t * z_b  # (S, D)
    return decode_path(state, codes, [f"t={v:.2f}" for v in t[:, 0].tolist()])


def traverse(
    state: ServeState,
    start: dict[str, Any] | None = None,
    dim: Any = 0,
    span: Any = 3.0,
    steps: Any = 7,
) -> Outputs:
    """Move one latent coordinate from -span to +span around an input's code (or the prior's
    mean, zero, when nothing is given), holding the others fixed."""
    run, steps = state.run, check_count(steps, "steps", MAX_STEPS)
    dim = int(dim)
    if not 0 <= dim < run.model.latent_dim:
        raise UploadError(f"dimension must be between 0 and {run.model.latent_dim - 1}, got {dim}")
    given = read_inputs(run, **(start or {}))
    origin = embed(run, given) if given else torch.zeros(1, run.model.latent_dim)
    offsets = torch.linspace(-float(span), float(span), steps)  # (S,)
    codes = origin.repeat(steps, 1)  # (S, D)
    codes[:, dim] += offsets
    return decode_path(state, codes, [f"z[{dim}]{v:+.2f}" for v in offsets.tolist()])


# --- Rate --------------------------------------------------------------------------------------


@dataclass
class RatingTask:
    """One blind pair: two items of ``modality`` made for the same ``source`` input. The page
    shows ``shown`` (the input) and ``a``/``b``; ``systems`` says which is which and stays on
    the server."""

    task: str
    source: str
    modality: str
    systems: tuple[str, str]
    shown: Outputs
    a: Outputs
    b: Outputs

    @property
    def opinion(self) -> bool:
        """Audio items get an opinion score each as well as the preference."""
        return bool(self.a.audio)


def system_name(run: Run) -> str:
    return run.path.resolve().name


def next_task(state: ServeState, seed: int | None = None, target: str | None = None) -> RatingTask:
    """A random test row and direction (to ``target`` if given): real against generated, or
    this run against the compared one, both from the row's ``source``; their order is shuffled."""
    run, data = state.run, state.dataset()
    rng = random.Random(seed)
    names = run.model.modalities
    directions = [(s, t) for s in names for t in names if s != t and target in (None, t)]
    if not directions:
        raise UploadError(
            f"rating compares one modality made from another; this run has {', '.join(names)}"
        )
    source, target = rng.choice(directions)
    test = data.splits["test"]
    rows = test[data.masks[source][test] & data.masks[target][test]]
    if not len(rows):
        raise UploadError(f"no test row has both {source} and {target}")
    row = int(rows[rng.randrange(len(rows))])
    given = {source: data.tensors[source][row : row + 1]}  # (1, ...)
    generated = _generate_from(run, given, target, rng)
    if state.other is None:
        items = {system_name(run): generated, "real": data.tensors[target][row]}
    else:
        items = {
            system_name(run): generated,
            system_name(state.other): _generate_from(state.other, given, target, rng),
        }
    order = list(items)
    rng.shuffle(order)
    folder = state.new_folder()
    shown = render(
        run, {source: [run.modalities[source].postprocess(given[source][0])]}, folder, []
    )
    a, b = (
        _render_item(run, target, items[s], folder / side)
        for s, side in zip(order, "AB", strict=True)
    )
    return RatingTask(uuid.uuid4().hex, source, target, (order[0], order[1]), shown, a, b)


def _render_item(run: Run, name: str, x: Tensor, folder: Path) -> Outputs:
    """One item in its own folder, so A's and B's file names give nothing away."""
    folder.mkdir()
    return render(run, {name: [run.modalities[name].postprocess(x)]}, folder, [folder.name])


def _generate_from(run: Run, given: dict[str, Tensor], target: str, rng: random.Random) -> Tensor:
    """One draw of ``target`` from a preprocessed input; real items are decoded the same way
    (audio through Griffin-Lim), so the vocoder gives neither side away."""
    torch.manual_seed(rng.randrange(2**31))
    run.model.eval()
    with torch.no_grad():
        return run.model.generate(given=given, targets=[target])[target][0]


def submit(
    state: ServeState,
    task: RatingTask | None,
    rater: str,
    choice: str | None,
    score_a: Any = None,
    score_b: Any = None,
) -> int:
    """Store one preference (and, for audio, an opinion score of each item); returns how many
    pairs ``rater`` has rated."""
    if task is None:
        raise UploadError("load a pair first")
    if not (rater or "").strip():
        raise UploadError("type your name before rating")
    if choice not in ("a", "b", "same"):
        raise UploadError("pick A, B or the same")
    first, second = task.systems
    judgement = functools.partial(Judgement, rater, task.task, task.source, task.modality)
    judgements = [judgement(first, second, choice)]
    if task.opinion:
        if score_a is None or score_b is None:
            raise UploadError("give each sound an opinion score from 1 to 5")
        judgements += [judgement(first, score=int(score_a)), judgement(second, score=int(score_b))]
    state.store.add(judgements)
    return state.store.count(rater, kind="preference")
