"""Errors that stacforge reports to users as one line."""

from __future__ import annotations

from os import PathLike
from typing import Any


class StacforgeError(Exception):
    """An error with a message fit to print as one line, without a traceback."""


class InputError(StacforgeError):
    """Bad input data: names the file and, where known, the record in it.

    Args:
        path: The file the bad input was read from.
        message: What is wrong, in a few words.
        record: Where in the file (``"line 12"``, ``"sample_id 33N_16E-243N_29_01"``).
    """

    def __init__(self, path: str | PathLike[str], message: str, *, record: str | None = None):
        self.path = str(path)
        self.record = record
        self.message = message
        where = f"{self.path}: {record}" if record else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries (parallel reads) as the same error.
        return (_input_error, (self.path, self.message, self.record))


def _input_error(path: str, message: str, record: str | None) -> InputError:
    return InputError(path, message, record=record)
