"""Fuzzing budget: ``make test`` runs a fixed, derandomised set of cases (the same every time,
so a failure reproduces); ``make fuzz`` sets ``MMLATENT_FUZZ_SCALE`` to run many more, drawn anew."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["examples", "settings"]

SCALE = int(os.environ.get("MMLATENT_FUZZ_SCALE", "1"))

settings.register_profile(
    "mmlatent",
    deadline=None,  # a shared, loaded machine makes single cases slow now and then
    derandomize=SCALE == 1,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def examples(n: int) -> int:
    """``n`` cases per test in the normal suite, ``n * MMLATENT_FUZZ_SCALE`` under ``make fuzz``."""
    return n * SCALE
