"""The number of CPU threads torch uses during a command, restored afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ._errors import InputError

THREADS_HELP = (
    "CPU threads for torch (default: {default}). The networks are small, so one thread loses "
    "little, and it avoids the large synchronisation cost of several threads on a busy machine."
)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` (``None``: leave torch's setting)."""
    if n is None:
        yield
        return
    if n < 1:
        raise InputError(f"--threads: expected a positive number, found {n}.")
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
