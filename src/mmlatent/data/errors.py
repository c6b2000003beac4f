"""The one error type of the data layer, so callers can tell bad input from bugs."""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data: the message names the file and, where there is one, the row and field."""
