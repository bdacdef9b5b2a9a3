"""Named configurations of the model and its training plan.

Each preset holds keyword arguments for three parts: ``"model"`` (options of
:class:`~butterflyvi.ButterflyModel` itself), ``"module"`` (the networks) and ``"plan"``
(the training schedule). Explicit keyword arguments always win over the preset.
"""

from __future__ import annotations

PRESETS: dict[str, dict[str, dict]] = {
    # The published scButterfly architecture, losses, initialisation and schedule.
    "paper": {"model": {"output_init": "random"}, "module": {}, "plan": {}},
    # The paper's method with the decoders' output layer started at the training mean
    # (see ButterflyModule.initialize_outputs and docs/benchmarks.md for the measurements).
    "default": {"model": {"output_init": "mean"}, "module": {}, "plan": {}},
    "binary": {
        "model": {"output_init": "mean"},
        "module": {"accessibility_target": "binary"},
        "plan": {},
    },
}


def preset_kwargs(preset: str, part: str) -> dict:
    """Keyword arguments of ``part`` (``"model"``, ``"module"`` or ``"plan"``) in ``preset``."""
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, found {preset!r}.")
    return dict(PRESETS[preset][part])
