"""Progress grids show conditions from across the validation split."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmlatent.training.progress import spread


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 300), st.integers(1, 64))
def test_spread_keeps_distinct_rows_from_first_to_last(size: int, n: int) -> None:
    rows = torch.arange(size) * 3 + 7  # any increasing row indices
    out = spread(rows, n)
    assert len(out) == min(n, size)
    assert len(out.unique()) == len(out) and set(out.tolist()) <= set(rows.tolist())
    assert torch.equal(out, out.sort().values)
    if size:
        assert out[0] == rows[0]
    if size and n > 1:
        assert out[-1] == rows[-1]


def test_a_split_stored_in_label_order_shows_every_label() -> None:
    labels = torch.arange(10).repeat_interleave(50)  # like digits' validation rows
    shown = labels[spread(torch.arange(500), 32)]
    assert set(shown.tolist()) == set(range(10))
