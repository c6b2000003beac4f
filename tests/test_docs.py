"""The documentation's links lead somewhere: files exist, anchors name headings, cited results exist.

The docs cite measurements by file and by section; a section renamed or moved (as the zoo's record
moved out of ``docs/models.md``) must not leave a reader at a dead link.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
RESULT = re.compile(r"benchmarks/results/[\w.-]+\.(?:md|json)")


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor on ``page``; a repeated heading gets ``-1``, ``-2``... as on GitHub."""
    seen: Counter[str] = Counter()
    out = set()
    in_code = False
    for line in page.read_text().splitlines():
        in_code ^= line.startswith("```")
        if in_code or not re.match(r"#{1,6} ", line):
            continue
        base = heading_anchor(line)
        out.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return out


def test_anchors_follow_githubs_rule() -> None:
    assert (
        heading_anchor("### A learned prior (`prior: learned`)") == "a-learned-prior-prior-learned"
    )
    assert heading_anchor("## β trades 0.90 → 0.95") == "β-trades-090--095"


def test_a_repeated_heading_gets_a_numbered_anchor(tmp_path) -> None:
    page = tmp_path / "p.md"
    page.write_text("# Top\n## Seeds\ntext\n## Seeds\n```\n# not a heading\n```\n")
    assert anchors(page) == {"top", "seeds", "seeds-1"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_leads_to_a_file_and_a_heading(page: Path) -> None:
    dead = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: outside this check
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            dead.append(f"{target} (no file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            dead.append(f"{target} (no such heading)")
    assert not dead, f"{page.name}: dead links {dead}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_cited_result_file_exists(page: Path) -> None:
    """(The recipes' citations are ``test_recipes.py``'s to check.)"""
    missing = [c for c in RESULT.findall(page.read_text()) if not (ROOT / c).is_file()]
    assert not missing, f"{page.name} cites results that do not exist: {missing}"
