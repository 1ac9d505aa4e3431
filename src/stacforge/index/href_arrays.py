"""Hrefs stored in an index, resolved a whole Arrow array at a time.

An index stores item and ``source`` hrefs relative to its directory (unless absolute). Label
searches compare the ``source`` hrefs of label items in one index with the item hrefs of
another, so they bring hrefs into a common, absolute form and back, vectorised; the rare href
that is not plain ``../`` steps and segments goes through :func:`stacforge.hrefs.join`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stacforge import hrefs
from stacforge.index import arrow_values
from stacforge.index.directory import IndexDirectory

_STEPS_UP: Final = r"^(?:\.\./)+"
_IRREGULAR: Final = r"(?:^|/)\.{0,2}(?:/|$)"
"""An empty, ``.`` or ``..`` path segment."""


def absolute(directory: IndexDirectory, stored: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:meth:`IndexDirectory.absolute` of each href stored in ``directory``, vectorised.

    A relative path of ``../`` steps and then plain segments (what catalog writers produce) is
    the base directory less one folder per step, then the rest; other relative hrefs are
    resolved one by one.
    """
    stored = arrow_values.combined(stored)
    no = arrow_values.scalar(False)
    is_absolute = pc.fill_null(pc.match_substring_regex(stored, hrefs.ABSOLUTE), no)
    rest = pc.replace_substring_regex(stored, _STEPS_UP, "", max_replacements=1)
    steps = pc.subtract(pc.binary_length(stored), pc.binary_length(rest))
    steps = pc.fill_null(pc.divide(steps, arrow_values.scalar(3)), arrow_values.scalar(0))
    folders = [folder for folder in directory.base.split("/") if folder]
    bases = arrow_values.strings(
        [
            "/" + "".join(f"{folder}/" for folder in folders[: max(len(folders) - up, 0)])
            for up in range((pc.max(steps).as_py() or 0) + 1)
        ]
    )
    joined = pc.binary_join_element_wise(bases.take(steps), rest, arrow_values.scalar(""))
    result = pc.if_else(is_absolute, stored, joined)
    irregular = pc.fill_null(pc.match_substring_regex(rest, _IRREGULAR), no)
    odd = np.flatnonzero(arrow_values.to_numpy(pc.and_not(irregular, is_absolute)))
    if not len(odd):
        return result
    values = result.to_pylist()
    for i in odd.tolist():
        values[i] = directory.absolute(stored[i].as_py())
    return arrow_values.strings(values)


def relative_to(folder: str, paths: pa.Array) -> pa.Array:
    """Absolute normalised ``paths`` relative to the absolute ``folder``, vectorised (null for
    URLs): ``../`` for each folder of ``folder`` below their deepest common folder."""
    folders = [name for name in folder.split("/") if name]
    relative = pa.nulls(len(paths), pa.string())
    for common in range(len(folders), -1, -1):
        ancestor = "/" + "".join(f"{name}/" for name in folders[:common])
        below = pc.and_(pc.starts_with(paths, ancestor), pc.is_null(relative))
        if not pc.any(below).as_py():
            continue
        steps = "../" * (len(folders) - common)
        rest = pc.utf8_slice_codeunits(paths, len(ancestor))
        joined = pc.binary_join_element_wise(
            arrow_values.scalar(steps), rest, arrow_values.scalar("")
        )
        relative = pc.if_else(below, joined, relative)
    return relative
