"""Checks that a TIFF holds all of its data: GDAL opens a truncated GeoTIFF and reports its
header, and fails only when a missing block is read, so reading metadata alone would pass it.

Reads only the image file directories (a few kilobytes), classic TIFF and BigTIFF alike.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np

from stacforge.errors import InputError

_OFFSET_TAGS: Final = {273: 279, 324: 325}
"""StripOffsets -> StripByteCounts, TileOffsets -> TileByteCounts."""
_TYPES: Final = {3: "H", 4: "I", 16: "Q"}
"""TIFF field types that hold offsets and byte counts: SHORT, LONG, LONG8."""
_MAX_DIRECTORIES: Final = 4096


def check_blocks(path: Path) -> None:
    """Checks that every strip or tile of every image in the TIFF at ``path`` lies inside it.

    Raises:
        InputError: The file is not a TIFF, or it is truncated (a directory, strip or tile
            ends past the end of the file).
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header = f.read(16)
        order = {b"II": "<", b"MM": ">"}.get(header[:2])
        if order is None or len(header) < 8:
            raise InputError(path, "not a TIFF file")
        (version,) = struct.unpack(order + "H", header[2:4])
        if version == 42:
            big, (offset,) = False, struct.unpack(order + "I", header[4:8])
        elif version == 43 and len(header) >= 16:
            big, (offset,) = True, struct.unpack(order + "Q", header[8:16])
        else:
            raise InputError(path, "not a TIFF file")
        for _ in range(_MAX_DIRECTORIES):
            if offset == 0:
                return
            offset = _check_directory(f, path, order, big, offset, size)
    raise InputError(path, f"more than {_MAX_DIRECTORIES} image directories (a loop?)")


def _check_directory(f: BinaryIO, path: Path, order: str, big: bool, offset: int, size: int) -> int:
    """Checks the blocks of the directory at ``offset``; returns the next directory's offset."""
    count_format, entry_size, next_format = ("Q", 20, "Q") if big else ("H", 12, "I")
    count_size = struct.calcsize(count_format)
    f.seek(offset)
    raw = f.read(count_size)
    if offset + count_size > size or len(raw) < count_size:
        raise InputError(path, f"truncated: image directory at byte {offset:,} is past the end")
    (entries,) = struct.unpack(order + count_format, raw)
    table = f.read(entries * entry_size + struct.calcsize(next_format))
    if len(table) < entries * entry_size + struct.calcsize(next_format):
        raise InputError(path, f"truncated: image directory at byte {offset:,} is cut off")
    arrays: dict[int, np.ndarray] = {}
    for i in range(entries):
        entry = table[i * entry_size : (i + 1) * entry_size]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if (tag not in _OFFSET_TAGS and tag not in _OFFSET_TAGS.values()) or kind not in _TYPES:
            continue
        arrays[tag] = _values(f, path, order, big, entry, _TYPES[kind], size)
    (following,) = struct.unpack(order + next_format, table[entries * entry_size :])
    for offsets_tag, counts_tag in _OFFSET_TAGS.items():
        if offsets_tag not in arrays:
            continue
        offsets, counts = arrays[offsets_tag], arrays.get(counts_tag)
        if counts is None or len(counts) != len(offsets):
            raise InputError(path, "malformed TIFF: block offsets without matching byte counts")
        ends = offsets + counts
        if len(ends) and int(ends.max()) > size:
            missing = int(np.count_nonzero(ends > size))
            raise InputError(
                path,
                f"truncated: {missing:,} of {len(ends):,} blocks end past the file's "
                f"{size:,} bytes (last byte needed: {int(ends.max()):,})",
            )
    return int(following)


def _values(
    f: BinaryIO, path: Path, order: str, big: bool, entry: bytes, code: str, size: int
) -> np.ndarray:
    """The numbers of one directory entry, inline or at the offset it gives."""
    count_format, inline = ("Q", 8) if big else ("I", 4)
    (count,) = struct.unpack(order + count_format, entry[4 : 4 + struct.calcsize(count_format)])
    value_field = entry[4 + struct.calcsize(count_format) :]
    nbytes = count * struct.calcsize(code)
    if nbytes <= inline:
        data = value_field[:nbytes]
    else:
        (where,) = struct.unpack(order + count_format, value_field)
        if where + nbytes > size:
            raise InputError(path, "truncated: block offsets are past the end of the file")
        f.seek(where)
        data = f.read(nbytes)
    return np.frombuffer(data, dtype=np.dtype(order + code)).astype(np.uint64)
