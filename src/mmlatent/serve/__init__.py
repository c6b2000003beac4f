"""The web app of ``mmlatent serve``: generate, sample, explore and rate in a browser.

The page (``app``) only wires widgets to plain functions (``handlers``), so everything it does is
testable without a browser; Gradio is imported by ``app`` alone, never by ``import mmlatent``.
"""
