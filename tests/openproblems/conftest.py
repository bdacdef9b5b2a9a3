"""Fixtures of the OpenProblems tests."""

from __future__ import annotations

import pytest

from _tasks import synthetic_task


@pytest.fixture(scope="session")
def gex_to_atac():
    return synthetic_task("GEX", "ATAC")
