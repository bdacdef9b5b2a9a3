"""Ctrl+C during training: hand the user a ``KeyboardInterrupt`` and a usable model."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import lightning.pytorch as pl


@contextmanager
def interrupts_as_keyboard_interrupt(plan: pl.LightningModule) -> Iterator[None]:
    """Turn Lightning's exit on Ctrl+C back into a ``KeyboardInterrupt``.

    On ``KeyboardInterrupt`` during ``fit``, Lightning (2.x) runs the callbacks'
    ``on_exception`` hooks (our best-weights callback restores the best weights there), sets
    SIGINT to be *ignored* so that a second Ctrl+C cannot disturb its shutdown, and calls
    ``sys.exit(1)``. In a notebook that leaves the kernel deaf to later interrupts, and in a
    script it exits with a misleading status. This context manager re-raises the
    interruption as a ``KeyboardInterrupt`` saying where training stopped, and always puts
    the previous SIGINT handler back.

    Parameters
    ----------
    plan
        The training plan (its ``phase`` and ``current_epoch`` go into the message).
    """
    handler = signal.getsignal(signal.SIGINT)
    try:
        yield
    except SystemExit as exc:
        if not isinstance(exc.__context__, KeyboardInterrupt):
            raise
        phase = plan.phase
        name = "pretraining" if phase == 1 else "integrative training"
        raise KeyboardInterrupt(
            f"Training interrupted in phase {phase} ({name}) at epoch {plan.current_epoch} "
            "(counted from 0 over both phases). The model keeps the weights of the best "
            "phase-2 validation epoch if one was recorded, else those of the last step, and "
            "can be used, saved, or trained further with another train() call."
        ) from None
    finally:
        if handler is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, handler)
