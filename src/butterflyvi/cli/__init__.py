"""The ``butterflyvi`` command line: ``demo``, ``train``, ``translate`` and ``evaluate``.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
arguments and a ``run(args) -> int`` function that does the work. :func:`main` parses the
arguments, runs the subcommand and turns errors into exit codes:

- 0: success;
- 1: runtime failure (e.g. training diverged), message on stderr;
- 2: usage or input error (bad arguments, missing files, unknown modalities, features of the
  data that do not match the model), message on stderr without a traceback.
"""

from ._errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, InputError
from ._main import build_parser, main

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "InputError", "build_parser", "main"]
