"""The models a user may pick: the catalogue (``bf.zoo``) and the user's own trained models."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ._db import Database


def catalogue() -> list[dict[str, Any]]:
    """The catalogue models as API records."""
    from .. import zoo

    rows = []
    for row in zoo.available().to_dict(orient="records"):
        rows.append(
            {
                "name": row["name"],
                "directions": list(row["directions"]),
                "species": row["species"],
                "tissue": row["tissue"],
                "assay": row["assay"],
                "n_cells": int(row["n_cells"]),
                "n_features": dict(row["n_features"]),
                "metrics": row["metrics"],
                "source": row["source"],
                "description": row["description"],
                "owner": "catalogue",
            }
        )
    return rows


def user_models(db: Database, user: dict) -> list[dict[str, Any]]:
    """A user's own models as API records."""
    out = []
    for model in db.models(user["id"]):
        record = model["record"]
        out.append(
            {
                "name": model["name"],
                "directions": record.get("directions", []),
                "species": record.get("species", "—"),
                "tissue": record.get("tissue", "—"),
                "assay": record.get("assay", "—"),
                "n_cells": record.get("n_cells", 0),
                "n_features": record.get("n_features", {}),
                "metrics": record.get("metrics", {}),
                "source": record.get("source", "uploaded by you"),
                "description": record.get("description", ""),
                "owner": user["name"],
            }
        )
    return out


def available_models(db: Database, user: dict) -> list[dict[str, Any]]:
    """What ``user`` may pick: the catalogue and their own models (theirs first on a name
    clash).
    """
    own = user_models(db, user)
    names = {m["name"] for m in own}
    return own + [m for m in catalogue() if m["name"] not in names]


def find_model(db: Database, user: dict, name: str) -> dict[str, Any] | None:
    """The record of model ``name`` for ``user`` (own models, then the catalogue)."""
    for model in available_models(db, user):
        if model["name"] == name:
            return model
    return None


class ModelCache:
    """Models loaded once per process (least recently used dropped beyond ``size``)."""

    def __init__(self, db: Database, size: int = 3):
        self.db = db
        self.size = size
        self._models: OrderedDict[tuple[int, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[int, str], threading.Lock] = {}

    def get(self, user: dict, name: str, owner: str):
        """The model ``name`` as ``user`` sees it (``owner``: ``"catalogue"`` or the user)."""
        key = (user["id"] if owner != "catalogue" else 0, name)
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per model, however many requests ask at once
            with self._lock:
                if key in self._models:
                    self._models.move_to_end(key)
                    return self._models[key]
            model = self._load(user, name, owner)
            with self._lock:
                self._models[key] = model
                while len(self._models) > self.size:
                    self._models.popitem(last=False)
        return model

    def _load(self, user: dict, name: str, owner: str):
        from .. import zoo
        from ..model import ButterflyModel

        if owner == "catalogue":
            return zoo.load(name, accelerator="cpu")
        for model in self.db.models(user["id"]):
            if model["name"] == name:
                return ButterflyModel.load(Path(model["path"]), adata=False, accelerator="cpu")
        raise KeyError(name)
