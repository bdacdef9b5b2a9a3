"""``training_history``: every logged loss term per epoch, both phases, boundary marked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes

from ._utils import finish, make_axes

#: History key prefixes: (prefix, split, phase). Longest first.
PREFIXES = (
    ("validation_pretrain_", "validation", 1),
    ("pretrain_", "train", 1),
    ("validation_", "validation", 2),
    ("train_", "train", 2),
)
STYLES = {"train": {"color": "C0", "ls": "-"}, "validation": {"color": "C1", "ls": "--"}}


def split_key(key: str) -> tuple[str, str, int] | None:
    """``(term, split, phase)`` of a history key such as ``"validation_pretrain_kl_0"``."""
    for prefix, split, phase in PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :], split, phase
    return None


def term_title(term: str, modalities: Sequence[str] | None) -> str:
    """A readable title: modality indices replaced by names (``translation_0_to_1`` → ``translation rna→atac``)."""
    if modalities:
        term = re.sub(
            r"_(\d)_to_(\d)$",
            lambda m: f" {modalities[int(m[1])]}→{modalities[int(m[2])]}",
            term,
        )
        term = re.sub(r"_(\d)$", lambda m: f" ({modalities[int(m[1])]})", term)
    return term.replace("_", " ")


def _series(frame):
    values = frame.iloc[:, 0] if frame.ndim == 2 else frame
    return values.index.to_numpy(), values.to_numpy(dtype=float)


def training_history(
    model,
    *,
    keys: Sequence[str] | None = None,
    ncols: int = 4,
    log_y: bool = False,
    show: bool | None = None,
    save: str | Path | None = None,
    ax: Axes | Sequence[Axes] | None = None,
) -> list[Axes] | None:
    """Plot every loss term logged during training, one panel per term.

    Each panel shows a term's training (solid) and validation (dashed) values per epoch. Terms
    logged in both phases (the total loss, the KL terms) run across the dotted line that marks
    the start of phase 2 (integrative training); phase-1 terms (``reconstruction``) stop there
    and phase-2 terms (translations, discriminator, adversarial) start there.

    Parameters
    ----------
    model
        A trained :class:`~butterflyvi.ButterflyModel` (or any object with ``history``, a dict
        of per-epoch DataFrames, and optionally ``modalities_``).
    keys
        Terms to plot (e.g. ``["loss", "translation_0_to_1"]``) or full history keys (e.g.
        ``"train_discriminator_loss"``); default all.
    ncols
        Panels per row.
    log_y
        Logarithmic y axes.
    show
        Show the figure (default: unless ``save`` is given).
    save
        Save the figure to this file.
    ax
        Axes to draw into, one per term.

    Returns
    -------
    The axes, one per term, when the figure is not shown; else ``None``.
    """
    history = getattr(model, "history", None)
    if not history:
        raise ValueError("model: expected a trained model with a training history, found none.")
    panels: dict[str, list[tuple[str, int, str]]] = {}
    for key in history:
        parsed = split_key(key)
        if parsed is None:
            continue
        term, split, phase = parsed
        if keys is not None and term not in keys and key not in keys:
            continue
        panels.setdefault(term, []).append((split, phase, key))
    if not panels:
        raise ValueError(
            f"keys: none of {list(keys or [])} is a logged loss term; the history holds "
            f"{sorted(history)}."
        )
    boundary = None
    if "train_loss" in history and len(history["train_loss"]):
        boundary = float(history["train_loss"].index.min()) - 0.5
    modalities = getattr(model, "modalities_", None)
    n_epochs = len(set().union(*(history[k].index for s in panels.values() for *_, k in s)))
    marker = "." if n_epochs < 30 else None
    fig, axes = make_axes(ax, len(panels), ncols=ncols)
    for axis, (term, series) in zip(axes, panels.items(), strict=True):
        labelled = set()
        for split, _, key in sorted(series, key=lambda s: (s[0] != "train", s[1])):
            epochs, values = _series(history[key])
            label = None if split in labelled else split
            labelled.add(split)
            axis.plot(
                epochs,
                values,
                marker=marker,
                label=label,
                **STYLES[split],
            )
        if boundary is not None:
            axis.axvline(boundary, color="0.5", ls=":", lw=1)
        axis.set_title(term_title(term, modalities), fontsize=10)
        axis.set_xlabel("epoch")
        if log_y:
            axis.set_yscale("log")
        axis.legend(fontsize=8, frameon=False)
    if boundary is not None and ax is None:
        fig.suptitle(
            "Training history (dotted line: start of phase 2, integrative training)", fontsize=11
        )
    return finish(fig, axes, show=show, save=save)
