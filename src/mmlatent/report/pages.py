"""The page templates of ``report/templates``, one Jinja set-up for all (they share partials)."""

from __future__ import annotations

import jinja2


def template(name: str) -> jinja2.Template:
    """Template ``name``, autoescaped; an undefined variable is an error, not an empty string."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mmlatent.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(name)
