"""Pretrained translators: a catalogue of models built reproducibly from public data.

- :func:`available`: the catalogue as a DataFrame (directions, species, tissue, assay,
  training cells, features, data source, held-out metrics, version, checksum);
- :func:`load`: one model, loaded without its training data, weights-only and
  checksum-verified, from the catalogue folder (offline) or a scvi-hub repository;
- :func:`model_dir`: the folder of a catalogue model (a scvi-hub folder).

Each model was built by ``scripts/build_zoo.py NAME`` (see ``docs/zoo.md``).

Examples
--------
>>> import butterflyvi as bf
>>> bf.zoo.available()[["name", "directions", "species"]]
>>> model = bf.zoo.load("mouse-cortex-rna-atac")
>>> atac = model.translate(rna_counts, source="rna")
"""

from .._validation import ChecksumError
from ._catalogue import CATALOGUE_DIR, available, entry, model_dir
from ._load import load

__all__ = ["CATALOGUE_DIR", "ChecksumError", "available", "entry", "load", "model_dir"]
