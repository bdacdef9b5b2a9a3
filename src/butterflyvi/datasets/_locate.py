"""Find the folder of real test datasets (``shared/data``) beside a checkout."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

#: Environment variable naming a folder of local copies of the datasets (checked first).
DATA_ENV_VAR = "BUTTERFLYVI_DATA"
#: The older name of the same setting, still honoured.
ENV_VAR = "BUTTERFLYVI_SHARED_DATA"


def candidate_dirs() -> list[Path]:
    """Folders that `shared_data_dir` tries, in order (existing or not).

    Returns
    -------
    ``$BUTTERFLYVI_DATA`` and ``$BUTTERFLYVI_SHARED_DATA`` when set, then ``<dir>/shared/data`` for the current working
    directory and each of its parents, then the same for the package's source folder and its
    parents (``…/main/src/butterflyvi`` → ``…/shared/data``), without repeats.

    """
    found: list[Path] = []
    for variable in (DATA_ENV_VAR, ENV_VAR):
        env = os.environ.get(variable)
        if env:
            found.append(Path(env).expanduser())
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            found.append(folder / "shared" / "data")
    return list(dict.fromkeys(found))


def shared_data_dir() -> Path | None:
    """Return the folder of shared real datasets, or None when there is none.

    Looks at ``$BUTTERFLYVI_SHARED_DATA`` first, then for a ``shared/data`` folder beside or
    above the current working directory, then beside or above the package source.

    Returns
    -------
    The first existing folder of `candidate_dirs`, or None.

    """
    env = os.environ.get(ENV_VAR)
    if env and not Path(env).expanduser().is_dir():
        warnings.warn(
            f"{ENV_VAR}={env!r} is not a directory; looking for shared/data elsewhere.",
            UserWarning,
            stacklevel=2,
        )
    for folder in candidate_dirs():
        if folder.is_dir():
            return folder
    return None
