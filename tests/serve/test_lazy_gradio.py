"""Gradio is an optional extra: only the page imports it, never the library or its CLI."""

from __future__ import annotations

import subprocess
import sys


def test_the_library_cli_and_handlers_load_without_gradio():
    code = (
        "import sys, mmlatent, mmlatent.cli, mmlatent.serve.handlers;"
        "mmlatent.cli.build_parser();"
        "assert 'gradio' not in sys.modules, 'gradio was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
