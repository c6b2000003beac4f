"""The functions behind the page's buttons, called as the page calls them."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
import soundfile as sf

from mmlatent.run import Run
from mmlatent.serve import handlers
from mmlatent.serve.ratings import RATINGS_FILE
from mmlatent.serve.uploads import UploadError


def inside(state, paths) -> bool:
    return all(p.is_file() and state.out_dir in p.parents for p in paths)


def test_text_gives_n_images_clips_and_spectrograms_in_the_served_folder(state):
    out = handlers.generate(state, text="zero one", n=3, seed=0)
    assert len(out.images) == len(out.audio) == len(out.spectrograms) == 3
    assert out.texts == []  # text was given, so it is not a target
    assert inside(state, out.images + out.audio + out.spectrograms)
    samples, rate = sf.read(str(out.audio[0]))
    assert rate == 8000 and np.abs(samples).max() > 0


def test_the_same_seed_gives_the_same_pictures(state):
    first = handlers.generate(state, text="two", n=2, seed=3)
    again = handlers.generate(state, text="two", n=2, seed=3)
    other = handlers.generate(state, text="two", n=2, seed=4)
    read = [p.read_bytes() for p in first.images]
    assert read == [p.read_bytes() for p in again.images]
    assert read != [p.read_bytes() for p in other.images]


def test_temperature_zero_gives_the_mean_once_whatever_the_seed_and_n(state):
    first = handlers.generate(state, text="two", n=3, seed=3, temperature=0)
    other = handlers.generate(state, text="two", n=3, seed=4, temperature="0")
    assert len(first.images) == len(first.audio) == 1
    assert first.images[0].read_bytes() == other.images[0].read_bytes()
    assert first.labels == ["text → mean"]


def test_a_lower_temperature_draws_other_pictures_from_the_same_seed(state):
    draws = handlers.generate(state, text="two", n=2, seed=3)
    near = handlers.generate(state, text="two", n=2, seed=3, temperature=0.5)
    again = handlers.generate(state, text="two", n=2, seed=3, temperature=1)
    assert len(near.images) == 2
    assert [p.read_bytes() for p in draws.images] == [p.read_bytes() for p in again.images]
    assert [p.read_bytes() for p in draws.images] != [p.read_bytes() for p in near.images]


@pytest.mark.parametrize("temperature", [-0.1, 2.5, "nan"])
def test_a_temperature_out_of_range_is_an_upload_error(state, temperature):
    with pytest.raises(UploadError, match="temperature must be between 0 and 2"):
        handlers.generate(state, text="two", temperature=temperature)


def test_a_drawing_on_transparent_paper_gives_text_and_audio(state):
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[60:220, 130:150] = 255  # a white stroke, opaque
    out = handlers.generate(state, image={"composite": canvas, "layers": []}, n=2)
    assert len(out.texts) == 2 and len(out.audio) == 2 and out.images == []


def test_an_untouched_canvas_counts_as_no_input(state):
    blank = {"composite": np.zeros((280, 280, 4), dtype=np.uint8)}
    with pytest.raises(UploadError, match="give a text, an image or a sound"):
        handlers.generate(state, image=blank)


def test_a_recorded_clip_gives_images(state):
    tone = (np.sin(np.arange(4000) / 5) * 20000).astype(np.int16)
    out = handlers.generate(state, audio=(8000, tone), n=1)
    assert len(out.images) == 1 and len(out.texts) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "zero one two three four five"}, "tokens"),
        ({"text": "x" * 600}, "at most 500"),
        ({"text": "one", "n": 99}, "n must be between 1 and 16"),
    ],
)
def test_bad_requests_get_one_line_messages(state, kwargs, message):
    with pytest.raises(ValueError, match=message):
        handlers.generate(state, **kwargs)


def test_a_non_image_upload_is_refused_by_name(state, tmp_path):
    fake = tmp_path / "digit.png"
    fake.write_text("not a picture")
    with pytest.raises(UploadError, match=r"digit\.png is not a readable image"):
        handlers.generate(state, image=str(fake))


@pytest.mark.parametrize("sampler", ["prior", "run"])
def test_sampling_gives_every_modality(state, sampler):
    out = handlers.sample(state, n=2, seed=1, sampler=sampler)
    assert len(out.images) == len(out.audio) == len(out.texts) == 2


@pytest.mark.parametrize("sampler", ["prior", "run"])
def test_sampling_temperature_reaches_the_sampler(state, sampler):
    draws = handlers.sample(state, n=2, seed=1, sampler=sampler)
    again = handlers.sample(state, n=2, seed=1, sampler=sampler, temperature="1")
    near = handlers.sample(state, n=2, seed=1, sampler=sampler, temperature=0.4)
    assert [p.read_bytes() for p in draws.images] == [p.read_bytes() for p in again.images]
    assert [p.read_bytes() for p in draws.images] != [p.read_bytes() for p in near.images]
    with pytest.raises(UploadError, match="temperature must be between 0 and 2"):
        handlers.sample(state, sampler=sampler, temperature=-1)


def test_interpolation_ends_at_its_inputs(state):
    steps = 4
    out = handlers.interpolate(state, {"text": "zero"}, {"text": "five"}, steps=steps)
    assert len(out.images) == len(out.texts) == len(out.audio) == steps
    assert out.labels[0] == "t=0.00" and out.labels[-1] == "t=1.00"
    start = handlers.embed(state.run, {"text": "zero"})
    decoded = state.run.generate(latent=start, targets=["image"])["image"][0]
    first = np.asarray(__import__("PIL.Image").Image.open(out.images[0]))
    np.testing.assert_array_equal(first, decoded)
    joined, _ = sf.read(str(out.joined_audio))
    one, _ = sf.read(str(out.audio[0]))
    assert len(joined) > steps * len(one)


def test_traversal_moves_one_coordinate_from_the_prior_mean(state):
    out = handlers.traverse(state, None, dim=2, span=2.0, steps=3)
    assert out.labels == ["z[2]-2.00", "z[2]+0.00", "z[2]+2.00"]
    assert len(out.images) == 3
    with pytest.raises(UploadError, match="dimension must be between 0 and 3"):
        handlers.traverse(state, None, dim=4)


def test_a_rating_task_hides_which_item_is_real(state):
    task = handlers.next_task(state, seed=0, target="image")
    assert sorted(task.systems) == sorted(["real", "run"])
    assert task.source != task.modality
    for item in (task.a, task.b):
        names = [p.name for p in item.images + item.audio]
        assert all("real" not in n and "run" not in n for n in names)


def test_three_ratings_land_in_sqlite_with_the_rater(state):
    for seed, target in enumerate(["image", "text", "audio"]):
        task = handlers.next_task(state, seed=seed, target=target)
        assert task.modality == target and task.opinion == (target == "audio")
        count = handlers.submit(state, task, " Ada ", "a", 4, 2)
    rows = (
        sqlite3.connect(state.run.path / RATINGS_FILE)
        .execute("SELECT rater, kind, choice, score FROM judgements")
        .fetchall()
    )
    preferences = [r for r in rows if r[1] == "preference"]
    assert len(preferences) == 3 and {r[0] for r in rows} == {"Ada"}
    opinions = [r for r in rows if r[1] == "opinion"]
    assert sorted(r[3] for r in opinions) == [2, 4]  # both sounds of the audio pair, scored
    assert count == 3  # pairs rated


def test_two_runs_are_rated_against_each_other_under_their_folder_names(
    state, tiny_run, tiny_data, tmp_path
):
    shutil.copytree(tiny_run.path, tmp_path / "other")
    pair = handlers.ServeState(
        run=tiny_run, out_dir=tmp_path / "o", data=tiny_data, other=Run.load(tmp_path / "other")
    )
    task = handlers.next_task(pair, seed=0, target="image")
    assert sorted(task.systems) == ["other", "run"]
    with pytest.raises(ValueError, match="share a name"):
        handlers.ServeState(run=tiny_run, out_dir=tmp_path / "o", other=tiny_run)


def test_a_rating_needs_a_name_and_a_choice(state):
    task = handlers.next_task(state, seed=0, target="text")
    with pytest.raises(UploadError, match="type your name"):
        handlers.submit(state, task, "  ", "a", 3, 3)
    with pytest.raises(UploadError, match="pick A, B or the same"):
        handlers.submit(state, task, "Ada", None, 3, 3)
    assert state.store.count() == 0
