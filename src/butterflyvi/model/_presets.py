"""Named configurations of the model and its training plan."""

from __future__ import annotations

#: ``"paper"``: the published scButterfly architecture, losses and schedule (DESIGN §1).
PRESETS: dict[str, dict[str, dict]] = {
    "paper": {"module": {}, "plan": {}},
}


def preset_kwargs(preset: str, part: str) -> dict:
    """Keyword arguments of ``part`` (``"module"`` or ``"plan"``) in ``preset``."""
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, found {preset!r}.")
    return dict(PRESETS[preset][part])
