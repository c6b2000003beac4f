"""The page served over HTTP on 127.0.0.1: the Generate API answers, and only the app's own
output folder can be fetched (not a run's files, nor a second run's)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mmlatent.cli import build_parser

gr = pytest.importorskip("gradio", reason="the web extra is not installed: pip install '.[web]'")
httpx = pytest.importorskip("httpx")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_listens_on_this_machine_only_by_default():
    args = build_parser().parse_args(["serve", "runs/demo"])
    assert args.host == "127.0.0.1"


@pytest.fixture
def served(state):
    from mmlatent.serve.app import build_app, launch

    app = build_app(state)
    port = free_port()
    launch(app, state, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}"
    app.close()


def test_generate_over_http_and_nothing_outside_the_output_folder(served, state, tmp_path):
    from gradio_client import Client

    client = Client(served, verbose=False)
    result = client.predict("zero one", None, None, 2, 0, 1.0, api_name="/generate")
    images = result[0]
    assert len(images) == 2 and Path(images[0]["image"]).is_file()
    mean = client.predict("zero one", None, None, 2, 0, 0.0, api_name="/generate")
    assert len(mean[0]) == 1  # temperature 0, the posterior mean: one output, whatever n
    assert httpx.get(served).status_code == 200
    other_run = tmp_path / "other-run"
    other_run.mkdir()
    secret = other_run / "model.safetensors"
    secret.write_text("weights of another run")
    for target in (secret, state.run.path / "config.yaml", Path("pyproject.toml").resolve()):
        reply = httpx.get(f"{served}/gradio_api/file={target}")
        assert reply.status_code in (403, 404) and "weights" not in reply.text
    served_file = next(state.out_dir.rglob("*.png"))
    assert httpx.get(f"{served}/gradio_api/file={served_file}").status_code == 200
