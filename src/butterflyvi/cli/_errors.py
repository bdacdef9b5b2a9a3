"""Exit codes of the command line and the error it raises for bad input."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

#: Exceptions of the package that mean "the input is wrong" (exit code 2, no traceback).
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    KeyError,
    TypeError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    NotImplementedError,
)


class InputError(Exception):
    """A usage or input error found by the command line itself (exit code 2)."""


def error_message(error: BaseException) -> str:
    """The message of ``error`` without the quotes ``KeyError`` puts around it."""
    if isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str):
        return error.args[0]
    return str(error) or type(error).__name__
