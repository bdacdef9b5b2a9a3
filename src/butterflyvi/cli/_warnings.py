"""Silencing the known, harmless warnings of the stack in the command line's output."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Messages (regular expressions) of warnings that say nothing actionable to a CLI user.
NOISY_MESSAGES = (
    r".*smaller than the logging interval.*",
    r".*does not have many workers.*",
    r".*isinstance\(treespec, LeafSpec\).*",
    r".*pull_on_update.*",
)


@contextmanager
def quiet() -> Iterator[None]:
    """Hide deprecation notices and the known harmless warnings of Lightning and mudata."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        for message in NOISY_MESSAGES:
            warnings.filterwarnings("ignore", message=message)
        yield
