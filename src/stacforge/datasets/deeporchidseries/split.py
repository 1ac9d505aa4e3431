"""The ml-aoi split of an occurrence, decided by its geographic block (``cell_index``).

The dataset stratifies train, validation and test sets by 0.0025-degree blocks, so every
occurrence of a block gets the same split: a hash of the block and a seed, read as a number in
[0, 1), falls into the train, validate or test fraction. The hash (BLAKE2b) is the same on
every machine and Python version, so the split is reproducible.
"""

from __future__ import annotations

import hashlib

from stacforge.catalog.labels import Split
from stacforge.errors import StacforgeError


def check_fractions(train: float, validate: float) -> None:
    """Refuses fractions that are not a partition of [0, 1] (test gets the rest).

    Raises:
        StacforgeError: A fraction outside [0, 1], or train + validate above 1.
    """
    for name, value in (("train-fraction", train), ("validate-fraction", validate)):
        if not 0.0 <= value <= 1.0:
            raise StacforgeError(f"--{name}: {value} is not between 0 and 1")
    if train + validate > 1.0 + 1e-9:
        raise StacforgeError(f"--train-fraction + --validate-fraction is {train + validate} > 1")


def block_split(cell_index: str, *, seed: int, train: float, validate: float) -> Split:
    """The split of every occurrence in the block ``cell_index``."""
    digest = hashlib.blake2b(f"{seed}:{cell_index}".encode(), digest_size=8).digest()
    position = int.from_bytes(digest, "big") / 2**64
    if position < train:
        return "train"
    if position < train + validate:
        return "validate"
    return "test"
