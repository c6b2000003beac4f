"""The Gradio page of ``mmlatent serve``: four tabs wired to :mod:`mmlatent.serve.handlers`.

The only module that imports Gradio (an optional extra: ``pip install mmlatent[web]``). Files
are served from the state's output folder alone (``allowed_paths``), never from the run or any
other folder, and every error reaches the page as one line, never a stack trace.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmlatent.serve import handlers
from mmlatent.serve.handlers import Outputs, RatingTask, ServeState
from mmlatent.serve.uploads import MAX_UPLOAD_BYTES

log = logging.getLogger(__name__)

MAX_PLAYERS = 4
"""Audio players shown on the Generate and Sample tabs (the slider's top for ``n``)."""
INPUT_KINDS = ("text", "image", "audio")
"""The order of ``input_widgets``' widgets, which the handlers take by these names."""
ITEM_PX = 220
"""Height of a rated picture: big enough to judge a 28×28 digit."""
CSS = """
.rated img { width: 100% !important; height: 100% !important; object-fit: contain; }
img { image-rendering: pixelated; }
"""
"""Small digits and spectrograms are blown up with hard pixel edges rather than blurred."""


def import_gradio(temp_dir: Path) -> Any:
    """Gradio, with analytics off and its upload cache inside ``temp_dir`` (both read at import)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = str(temp_dir)
    try:
        import gradio as gr
    except ImportError as err:
        raise ImportError(
            "mmlatent serve needs the web extra: pip install 'mmlatent[web]'"
        ) from err
    return gr


def page_errors(gr: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input becomes a one-line ``gr.Error`` in the page; anything else is logged here and
    the page says only that it failed, so no stack trace or path leaks to the browser."""

    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except Exception:
            log.exception("mmlatent serve: %s failed", fn.__name__)
            raise gr.Error("something went wrong on the server; see its log") from None

    return wrapped


def build_app(state: ServeState) -> Any:
    """The Blocks of the four tabs for ``state``'s run."""
    gr = import_gradio(state.out_dir / "gradio")
    run = state.run
    title = f"mmlatent · {handlers.system_name(run)}"
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(
            f"# {title}\nModel `{run.config.model.name}`, modalities: "
            f"{', '.join(run.modalities)}. Images are white ink on black, like the training digits."
        )
        with gr.Tab("Generate"):
            generate_tab(gr, state)
        with gr.Tab("Sample"):
            sample_tab(gr, state)
        with gr.Tab("Explore"):
            explore_tab(gr, state)
        with gr.Tab("Rate"):
            rate_tab(gr, state)
    return app


def launch(app: Any, state: ServeState, host: str, port: int | None, **kwargs: Any) -> Any:
    """Serve on ``host:port`` with uploads capped and only the output folder reachable."""
    return app.launch(
        server_name=host,
        server_port=port,
        allowed_paths=[str(state.out_dir)],
        max_file_size=MAX_UPLOAD_BYTES,
        show_error=False,
        share=False,
        footer_links=["api"],
        css=CSS,
        **kwargs,
    )


# --- shared widgets ----------------------------------------------------------------------------


def input_widgets(gr: Any, run: Any, label: str = "") -> list[Any]:
    """Text, image (upload or draw) and audio (upload or record) inputs for the run's kinds."""
    kinds = {m.kind for m in run.modalities.values()}
    text = gr.Textbox(
        label=f"{label}text", placeholder="a handwritten seven", visible="text" in kinds
    )
    image = gr.ImageEditor(
        label=f"{label}image (upload, or draw in white)",
        type="numpy",
        sources=("upload", "clipboard"),
        brush=gr.Brush(colors=["#ffffff"], default_color="#ffffff", color_mode="fixed"),
        canvas_size=(280, 280),
        height=300,
        visible="image" in kinds,
    )
    audio = gr.Audio(
        label=f"{label}audio (upload or record)",
        sources=["upload", "microphone"],
        type="filepath",
        visible="audio" in kinds,
    )
    return [text, image, audio]


class OutputWidgets:
    """Images, spectrograms, audio players and texts of an :class:`Outputs`."""

    def __init__(self, gr: Any, players: int = MAX_PLAYERS, joined: bool = False) -> None:
        self.gr = gr
        self.images = gr.Gallery(label="images", columns=8, height="auto", object_fit="contain")
        self.spectrograms = gr.Gallery(label="spectrograms", columns=8, height="auto")
        with gr.Row():
            self.players = [
                gr.Audio(label=f"audio {i + 1}", visible=i == 0, interactive=False)
                for i in range(players)
            ]
        self.joined = gr.Audio(label="all clips in order", interactive=False, visible=joined)
        self.texts = gr.Textbox(label="texts", lines=4, interactive=False)

    @property
    def components(self) -> list[Any]:
        return [self.images, self.spectrograms, *self.players, self.joined, self.texts]

    def values(self, out: Outputs) -> list[Any]:
        gr = self.gr
        captions = out.labels or [""] * max(len(out.images), len(out.audio))
        players = [
            gr.update(value=str(out.audio[i]), visible=True)
            if i < len(out.audio)
            else gr.update(value=None, visible=i == 0)
            for i in range(len(self.players))
        ]
        texts = "\n".join(
            f"{c}: {t}" if c else t for c, t in zip(captions, out.texts, strict=False)
        )
        return [
            [(str(p), c) for p, c in zip(out.images, captions, strict=False)],
            [(str(p), c) for p, c in zip(out.spectrograms, captions, strict=False)],
            *players,
            str(out.joined_audio) if out.joined_audio else None,
            texts,
        ]


# --- tabs --------------------------------------------------------------------------------------


def generate_tab(gr: Any, state: ServeState) -> None:
    with gr.Row():
        with gr.Column():
            inputs = input_widgets(gr, state.run)
            with gr.Row():
                n = gr.Slider(1, MAX_PLAYERS, value=4, step=1, label="n")
                seed = gr.Number(value=0, precision=0, label="seed")
            temperature = gr.Slider(
                0,
                handlers.MAX_TEMPERATURE,
                value=1,
                step=0.05,
                label="temperature: 1 draws; lower pulls draws toward the posterior's mean; "
                "0 gives one output, the mean, the most typical",
            )
            button = gr.Button("Generate", variant="primary", elem_id="generate-button")
        with gr.Column():
            outputs = OutputWidgets(gr)

    def on_generate(
        text: Any, image: Any, audio: Any, n: Any, seed: Any, temperature: Any
    ) -> list[Any]:
        return outputs.values(handlers.generate(state, text, image, audio, n, seed, temperature))

    button.click(
        page_errors(gr, on_generate),
        [*inputs, n, seed, temperature],
        outputs.components,
        api_name="generate",
    )


def sample_tab(gr: Any, state: ServeState) -> None:
    sampler_name = handlers.run_sampler_name(state.run)
    with gr.Row():
        n = gr.Slider(1, MAX_PLAYERS, value=4, step=1, label="n")
        seed = gr.Number(value=0, precision=0, label="seed")
        sampler = gr.Radio(
            [(f"the run's ({sampler_name})", "run"), ("the model's prior", "prior")],
            value="run",
            label="latent sampler",
        )
    temperature = gr.Slider(
        0,
        handlers.MAX_TEMPERATURE,
        value=1,
        step=0.05,
        label="temperature: 1 samples the sampler's density; lower pulls draws toward its "
        "centres, more typical and less varied",
    )
    button = gr.Button("Sample", variant="primary")
    outputs = OutputWidgets(gr)

    def on_sample(n: Any, seed: Any, sampler: str, temperature: Any) -> list[Any]:
        return outputs.values(handlers.sample(state, n, seed, sampler, temperature))

    button.click(
        page_errors(gr, on_sample),
        [n, seed, sampler, temperature],
        outputs.components,
        api_name="sample",
    )


def explore_tab(gr: Any, state: ServeState) -> None:
    latent_dim = state.run.model.latent_dim
    with gr.Tab("Interpolate"):
        with gr.Row():
            with gr.Column():
                start = input_widgets(gr, state.run, "start: ")
            with gr.Column():
                end = input_widgets(gr, state.run, "end: ")
        steps = gr.Slider(2, handlers.MAX_STEPS, value=7, step=1, label="steps")
        go = gr.Button("Interpolate", variant="primary")
        between = OutputWidgets(gr, players=0, joined=True)

        def on_interpolate(*values: Any) -> list[Any]:
            start = dict(zip(INPUT_KINDS, values[:3], strict=True))
            end = dict(zip(INPUT_KINDS, values[3:6], strict=True))
            return between.values(handlers.interpolate(state, start, end, values[6]))

        go.click(page_errors(gr, on_interpolate), [*start, *end, steps], between.components)
    with gr.Tab("Traverse"):
        gr.Markdown("Start from an input, or leave all empty to start at the prior's mean.")
        origin = input_widgets(gr, state.run, "start: ")
        with gr.Row():
            dim = gr.Slider(0, latent_dim - 1, value=0, step=1, label="latent dimension")
            span = gr.Slider(0.5, 6, value=3, step=0.5, label="± span")
            steps_t = gr.Slider(2, handlers.MAX_STEPS, value=7, step=1, label="steps")
        go_t = gr.Button("Traverse", variant="primary")
        along = OutputWidgets(gr, players=0, joined=True)

        def on_traverse(text: Any, image: Any, audio: Any, d: Any, s: Any, k: Any) -> list[Any]:
            start = {"text": text, "image": image, "audio": audio}
            return along.values(handlers.traverse(state, start, d, s, k))

        go_t.click(page_errors(gr, on_traverse), [*origin, dim, span, steps_t], along.components)


def rate_tab(gr: Any, state: ServeState) -> None:
    against = handlers.system_name(state.other) if state.other else "real data"
    gr.Markdown(
        f"Blind comparison: two items made for the same input, one by this run and one from "
        f"{against}, in random order. Pick the better one, or say they are the same; give each "
        "sound a score from 1 (bad) to 5 (excellent)."
    )
    rater = gr.Textbox(label="your name (typed once)", elem_id="rater-name")
    task = gr.State(None)
    with gr.Row():
        what = gr.Dropdown(
            [("any", "any"), *[(m, m) for m in state.run.model.modalities]],
            value="any",
            label="what to rate",
        )
        new = gr.Button("Next pair", elem_id="next-pair")
    with gr.Row():
        shown = item_widgets(gr, "input")[:3]  # the input: text, image or audio, no score
    with gr.Row():
        sides = [item_widgets(gr, side) for side in ("A", "B")]
    choice = gr.Radio(
        [("A is better", "a"), ("B is better", "b"), ("the same", "same")],
        label="which is better?",
        elem_id="choice",
    )
    submit = gr.Button("Submit rating", variant="primary", elem_id="submit-rating")
    status = gr.Markdown(elem_id="rating-status")
    task_outputs = [task, *shown, *sides[0], *sides[1], choice]

    def show(t: RatingTask) -> list[Any]:
        values: list[Any] = [t, *show_item(gr, t.shown, with_spectrogram=False)[:3]]
        for item in (t.a, t.b):
            values += show_item(gr, item, with_spectrogram=True)
            values.append(gr.update(value=None, visible=t.opinion))
        return [*values, None]

    def next_task(target: str) -> RatingTask:
        return handlers.next_task(state, target=None if target == "any" else target)

    def on_next(target: str) -> list[Any]:
        return [*show(next_task(target)), "A new pair: which is better?"]

    def on_submit(
        t: RatingTask | None, name: str, c: Any, sa: Any, sb: Any, target: str
    ) -> list[Any]:
        count = handlers.submit(state, t, name, c, sa, sb)
        thanks = f"Thank you: {count} pairs rated by {name.strip()} so far."
        return [*show(next_task(target)), thanks]

    new.click(page_errors(gr, on_next), [what], [*task_outputs, status])
    submit.click(
        page_errors(gr, on_submit),
        [task, rater, choice, sides[0][-1], sides[1][-1], what],
        [*task_outputs, status],
    )


def item_widgets(gr: Any, side: str) -> list[Any]:
    """Hidden slots for one item (text, image, audio, spectrogram) and its opinion score; the
    item's kind decides which show."""
    with gr.Column():
        return [
            gr.Textbox(label=side, interactive=False, visible=False),
            gr.Image(
                label=side, interactive=False, visible=False, height=ITEM_PX, elem_classes="rated"
            ),
            gr.Audio(label=side, interactive=False, visible=False),
            gr.Image(
                label=f"{side} spectrogram", visible=False, height=ITEM_PX, elem_classes="rated"
            ),
            gr.Radio(
                [1, 2, 3, 4, 5],
                label=f"{side}: opinion score",
                visible=False,
                elem_id=f"score-{side}",
            ),
        ]


def show_item(gr: Any, out: Outputs, *, with_spectrogram: bool) -> list[Any]:
    """Updates for a text, image, audio and spectrogram slot: the one that holds it shows."""
    return [
        gr.update(value=out.texts[0] if out.texts else None, visible=bool(out.texts)),
        gr.update(value=str(out.images[0]) if out.images else None, visible=bool(out.images)),
        gr.update(value=str(out.audio[0]) if out.audio else None, visible=bool(out.audio)),
        gr.update(
            value=str(out.spectrograms[0]) if out.spectrograms else None,
            visible=with_spectrogram and bool(out.spectrograms),
        ),
    ]
