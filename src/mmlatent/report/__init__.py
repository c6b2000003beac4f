"""The HTML report: samples to look at and listen to, curves, a latent map and the scores."""

from mmlatent.report.html import write_report

__all__ = ["write_report"]
