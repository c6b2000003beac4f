"""Pre-emption and resumption: SIGTERM saves and exits non-zero, ``kill -9`` loses little, and
``mmlatent fit --resume`` reaches the weights of a run that never stopped, bitwise on CPU."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mmlatent.cli import main
from mmlatent.config import RunConfig
from mmlatent.data.datamodule import EpochShuffle
from mmlatent.data.datasets import load_dataset
from mmlatent.run import RESUME_CHECKPOINT, Run, RunError
from mmlatent.training.fit import fit
from mmlatent.training.resume import CheckpointError, read_checkpoint

# 3 epochs of 8 steps, a checkpoint every 3 steps: a kill lands mid-epoch or between epochs.
TINY = """\
seed: 3
data: {name: digits, batch_size: 32}
model: {name: mopoe, options: {latent_dim: 4, hidden_dim: 16}}
train: {max_epochs: 3, limit_train_batches: 8, checkpoint_every_n_steps: 3, progress_bar: false}
"""


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    load_dataset("digits")  # built once into the session's cache, which the subprocesses share
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def reference(config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Final weights of the same fit, never interrupted."""
    torch.set_num_threads(1)  # as in the fitting subprocesses: threads change float sums
    run = fit(RunConfig.from_yaml(config_file), tmp_path_factory.mktemp("ref") / "run")
    assert not (run.path / RESUME_CHECKPOINT).exists()  # a finished run has nothing to resume
    return load_file(str(run.path / "model.safetensors"))


def start_fit(config_file: Path, out: Path) -> subprocess.Popen:
    mmlatent = str(Path(sys.executable).with_name("mmlatent"))
    command = [mmlatent, "fit", "--config", str(config_file)]
    return subprocess.Popen(
        [*command, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # the thread count of the in-process parts
    )


def wait_for_first_checkpoint(proc: subprocess.Popen, run: Path) -> None:
    while not (run / RESUME_CHECKPOINT).exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)


def stop_with_sigterm(config_file: Path, run: Path) -> str:
    """Start a fit, send SIGTERM once it has a resumable checkpoint; its stderr."""
    proc = start_fit(config_file, run)
    wait_for_first_checkpoint(proc, run)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    return err


def assert_same_weights(run: Path, reference: dict) -> None:
    resumed = load_file(str(run / "model.safetensors"))
    assert resumed.keys() == reference.keys()
    for name, tensor in reference.items():
        assert torch.equal(resumed[name], tensor), name


def test_sigterm_saves_says_how_to_resume_and_exits_non_zero(
    config_file: Path, reference: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    err = stop_with_sigterm(config_file, run)
    assert "SIGTERM received" in err and f"mmlatent fit --resume {run}" in err
    assert not (run / "model.safetensors").exists()
    state = read_checkpoint(run / RESUME_CHECKPOINT)
    assert 0 < state["global_step"] < 24
    with pytest.raises(RunError, match="fit --resume"):
        Run.load(run)  # an unfinished run says so, and how to finish it
    assert main(["fit", "--resume", str(run)]) == 0
    assert_same_weights(run, reference)


def test_kill_9_at_a_random_step_resumes_to_the_same_weights(
    config_file: Path, reference: dict, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    proc = start_fit(config_file, run)
    wait_for_first_checkpoint(proc, run)
    time.sleep(random.Random().uniform(0.0, 2.0))
    proc.kill()
    proc.communicate()
    if not (run / "model.safetensors").exists():  # killed before the end, as intended
        assert main(["fit", "--resume", str(run)]) == 0
    assert_same_weights(run, reference)


def test_a_moving_average_of_the_weights_resumes_where_it_stopped(
    config_file: Path, tmp_path: Path
) -> None:
    """The checkpoint holds both the weights and their average (``train.ema_decay``)."""
    averaged = tmp_path / "ema.yaml"
    averaged.write_text(
        config_file.read_text().replace(
            "progress_bar: false", "progress_bar: false, ema_decay: 0.9"
        )
    )
    torch.set_num_threads(1)
    reference = load_file(
        str(fit(RunConfig.from_yaml(averaged), tmp_path / "ref").path / "model.safetensors")
    )
    run = tmp_path / "run"
    stop_with_sigterm(averaged, run)
    assert main(["fit", "--resume", str(run)]) == 0
    assert_same_weights(run, reference)


class WritesAMarker:
    """Unpickling this creates ``marker``: code that a safe loader must never run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_a_pickled_checkpoint_is_refused_and_runs_no_code(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(config_file.read_text())
    marker = tmp_path / "code-ran"
    payload = {"state_dict": WritesAMarker(marker), "loops": {}, "optimizer_states": []}
    torch.save(payload, run / RESUME_CHECKPOINT)
    assert main(["fit", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and str(run / RESUME_CHECKPOINT) in err
    assert not marker.exists()
    # The payload is live: an unsafe load would have run it.
    torch.load(run / RESUME_CHECKPOINT, weights_only=False)
    assert marker.exists()


def test_a_truncated_checkpoint_is_named(tmp_path: Path) -> None:
    path = tmp_path / "resume.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match=r"resume\.ckpt: not a readable checkpoint"):
        read_checkpoint(path)
    torch.save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="lacks loops"):
        read_checkpoint(path)


def test_resume_refuses_what_it_cannot_continue(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["fit", "--resume", str(tmp_path / "nowhere")]) == 2
    assert "config.yaml" in capsys.readouterr().err
    (tmp_path / "config.yaml").write_text(config_file.read_text())
    assert main(["fit", "--resume", str(tmp_path)]) == 2
    assert "resume.ckpt is missing" in capsys.readouterr().err
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert main(["fit", "--resume", str(tmp_path)]) == 2
    assert "finished already" in capsys.readouterr().err
    assert main(["fit", "--resume", str(tmp_path), "--max-epochs", "9"]) == 2
    assert "drop --max-epochs" in capsys.readouterr().err


def test_epoch_order_depends_on_seed_and_epoch_only() -> None:
    a, b = EpochShuffle(20, seed=1), EpochShuffle(20, seed=1)
    a.set_epoch(0)
    list(a)  # a history of draws changes nothing
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(b) != list(a) and sorted(b) == list(range(20))


def test_epoch_order_resumes_after_the_served_positions_once() -> None:
    full = EpochShuffle(20, seed=0)
    full.set_epoch(4)
    order = list(full)
    resumed = EpochShuffle(20, seed=0)
    resumed.resume_at(4, 12)
    resumed.set_epoch(4)
    assert list(resumed) == order[12:]
    assert list(resumed) == order  # the next pass is whole again
    other = EpochShuffle(20, seed=0)
    other.resume_at(3, 12)  # a place in another epoch does not apply
    other.set_epoch(4)
    assert list(other) == order


def test_checkpoint_interval_is_validated() -> None:
    from mmlatent.config import ConfigError

    with pytest.raises(ConfigError, match=r"train\.checkpoint_every_n_steps"):
        RunConfig().with_overrides(["train.checkpoint_every_n_steps=0"])


def test_rng_state_round_trips_through_a_safe_load(tmp_path: Path) -> None:
    import numpy as np

    from mmlatent.training.resume import rng_states, set_rng_states

    path = tmp_path / "rng.pt"
    torch.save(rng_states(), path)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_states(torch.load(path, weights_only=True))
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1]) and expected[2] == again[2]


def test_the_log_history_before_the_checkpoint_survives_resuming(tmp_path: Path) -> None:
    from mmlatent.training.resume import put_back, rows_before

    log = tmp_path / "metrics.csv"
    log.write_text("epoch,step,train/loss\n0,9,5.0\n0,19,4.0\n1,29,3.0\n")
    earlier = rows_before(log, 20)  # the checkpoint: rows from step 20 on are logged again
    log.write_text(
        "epoch,step,train/loss,val/loss\n1,29,3.0,\n1,31,,2.5\n"
    )  # Lightning's fresh file
    put_back(log, earlier)
    assert log.read_text().splitlines() == [
        "epoch,step,train/loss,val/loss",
        "0,9,5.0,",
        "0,19,4.0,",
        "1,29,3.0,",
        "1,31,,2.5",
    ]


def test_checkpoints_are_taken_inside_epochs_only(
    tiny_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning does not replay an epoch's end (validation, scheduler, best checkpoint) from a
    checkpoint taken at its last step, so none is taken there."""
    from mmlatent.training.callbacks import ResumeCheckpoint

    saved: list[int] = []
    monkeypatch.setattr(
        ResumeCheckpoint, "save", lambda self, trainer: saved.append(trainer.global_step)
    )
    overrides = [
        "train.max_epochs=2",
        "data.batch_size=8",  # 20 training rows: 3 steps an epoch
        "train.progress_bar=false",
        "train.checkpoint_every_n_steps=1",
        "model.options={latent_dim: 4, hidden_dim: 16}",
    ]
    fit(RunConfig().with_overrides(overrides), tmp_path / "run", data=tiny_data)
    assert saved == [1, 2, 4, 5]
