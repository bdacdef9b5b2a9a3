"""Keep torch's thread setting across third-party calls that reset it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def keep_torch_threads() -> Iterator[None]:
    """Restore ``torch.get_num_threads()`` after the block if the block changed it.

    Some scanpy/numba code paths reset the OpenMP thread count that torch shares, so a user's
    ``torch.set_num_threads(1)`` silently became 2 after ``preprocess_rna`` (measured: a
    SNARE-seq training epoch then ran 10–20× slower on a busy 2-core machine). Nothing is
    imported: torch is only consulted if it is already loaded.
    """
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        torch = sys.modules.get("torch")
        if torch is not None and before is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)
