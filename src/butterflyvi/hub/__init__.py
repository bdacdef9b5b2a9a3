"""Sharing trained models through scvi-hub (Hugging Face).

- :func:`to_hub_dir`: write a folder that :class:`scvi.hub.HubModel` reads: the model, its
  data, scvi-hub metadata (``model_parent_module="butterflyvi"``) and a model card.
- :func:`load_hub_dir`: the model of such a folder, through :class:`scvi.hub.HubModel`.
- :func:`model_card`: the Markdown model card alone.

Push a folder with ``scvi.hub.HubModel(local_dir).push_to_huggingface_hub(repo_name=...,
repo_token=..., repo_create=True)`` (needs a Hugging Face write token and network access).
"""

from ._card import model_card
from ._export import load_hub_dir, to_hub_dir

__all__ = ["load_hub_dir", "model_card", "to_hub_dir"]
