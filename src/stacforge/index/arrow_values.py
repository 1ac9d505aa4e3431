"""Arrow arrays and scalars to and from numpy arrays and Python values, without pandas.

``pa.array`` and ``pa.scalar`` first ask pyarrow's pandas shim whether their argument is a
pandas object, and the shim answers by importing pandas (a quarter of a second, more than a
whole cold search); so do the compute functions given a numpy array or a Python value,
``Table.take``/``filter`` given numpy indices or masks, ``to_numpy`` (pyarrow's converter to
pandas, whatever the type) and ``as_py`` of a time with a time zone. A search builds its
arrays from buffers instead (:meth:`pyarrow.Array.from_buffers`), and reads numbers back
through DLPack and booleans from their bitmap.

Nor do these functions import ``pyarrow.compute`` but to put values in place of nulls: its
import builds Python wrappers for 500 functions (20 ms, a fifth of a cold command-line search),
and ``take``, ``filter`` and ``cast`` import it on their first call. For the same reason
:func:`distinct` stands in for ``np.unique``, whose first call imports ``numpy.ma`` (15 to 70 ms,
more than the rest of a cold label search).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from stacforge.index.layout import TIMESTAMP

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = datetime.resolution


def from_numpy(values: NDArray[Any], *, null: NDArray[np.bool_] | None = None) -> pa.Array:
    """A 1-D numpy array of booleans or numbers as an Arrow array (numbers without a copy).

    Args:
        values: The values.
        null: Where the values are null (none by default).
    """
    values = np.ascontiguousarray(values)
    validity = None if null is None else _bits(~np.asarray(null, dtype=bool))
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), len(values), [validity, _bits(values)])
    type_ = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(type_, len(values), [validity, pa.py_buffer(values)])


def to_numpy(
    values: pa.Array | pa.ChunkedArray, *, null: bool | float | None = None
) -> NDArray[Any]:
    """Booleans or numbers as a numpy array (numbers in one chunk without nulls: no copy, and
    then read-only).

    Args:
        values: The values.
        null: What nulls become.

    Raises:
        ValueError: ``values`` has nulls and ``null`` is None.
    """
    values = combined(values)
    if values.null_count:
        if null is None:
            raise ValueError(f"{values.null_count} nulls, and no value to put in their place")
        import pyarrow.compute as pc

        values = pc.fill_null(values, scalar(null).cast(values.type))
    if pa.types.is_boolean(values.type):
        return _flags(values.buffers()[1], values.offset, len(values))
    return np.from_dlpack(values)


def take_binary(values: pa.Array | pa.ChunkedArray, indices: NDArray[np.intp]) -> pa.Array:
    """``values.take(indices)`` of strings or bytes, gathered by numpy (through an index of
    every byte gathered: for ids and footprints, not for big answers of long strings)."""
    values = combined(values)
    validity, offset_buffer, data_buffer = values.buffers()
    large = pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
    offset_type = np.int64 if large else np.int32
    offsets = np.frombuffer(offset_buffer, dtype=offset_type).astype(np.int64)
    offsets = offsets[values.offset : values.offset + len(values) + 1]
    starts = offsets[indices]
    lengths = offsets[indices + 1] - starts
    taken = np.zeros(len(indices) + 1, dtype=np.int64)
    np.cumsum(lengths, out=taken[1:])
    data = np.frombuffer(data_buffer or b"", dtype=np.uint8)
    gathered = data[np.repeat(starts - taken[:-1], lengths) + np.arange(taken[-1])]
    if values.null_count:
        validity = _bits(_flags(validity, values.offset, len(values))[indices])
    else:
        validity = None
    buffers = [validity, pa.py_buffer(taken.astype(offset_type)), pa.py_buffer(gathered)]
    return pa.Array.from_buffers(values.type, len(indices), buffers)


def combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values in one array (``ChunkedArray.combine_chunks`` of no chunks calls
    ``pa.array``)."""
    if isinstance(values, pa.Array):
        return values
    if values.num_chunks == 0:
        return pa.nulls(0, values.type)
    return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()


def strings(values: Sequence[str | None]) -> pa.Array:
    """Python strings (or None) as an Arrow ``string`` array."""
    encoded = [b"" if value is None else value.encode() for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(value) for value in encoded], out=offsets[1:])
    null = [value is None for value in values]
    validity = _bits(~np.array(null, dtype=bool)) if any(null) else None
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers)


def scalar(value: bool | int | float | str) -> pa.Scalar:
    """A Python boolean, integer (int64), float (float64) or string as an Arrow scalar."""
    if isinstance(value, str):
        return strings([value])[0]
    return from_numpy(np.array([value]))[0]


def timestamp(moment: datetime) -> pa.Scalar:
    """An aware datetime as a :data:`~stacforge.index.layout.TIMESTAMP` scalar."""
    micros = (moment - _EPOCH) // _MICROSECOND
    return from_numpy(np.array([micros], dtype=np.int64)).view(TIMESTAMP)[0]


def datetimes(micros: Sequence[int | None]) -> list[datetime | None]:
    """Microseconds since the epoch (as a ``TIMESTAMP`` stores them) as aware datetimes.

    ``TimestampScalar.as_py`` asks the pandas shim too, for a time with a time zone.
    """
    return [None if value is None else _EPOCH + value * _MICROSECOND for value in micros]


def _flags(bits: pa.Buffer, offset: int, count: int) -> NDArray[np.bool_]:
    """An Arrow bitmap (least significant bit first) as booleans."""
    found = np.unpackbits(
        np.frombuffer(bits, dtype=np.uint8), count=offset + count, bitorder="little"
    )
    return found[offset:].view(np.bool_)


def _bits(flags: NDArray[np.bool_]) -> pa.Buffer:
    """Booleans as an Arrow bitmap (least significant bit first)."""
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def distinct(values: NDArray[Any]) -> NDArray[Any]:
    """The sorted distinct values of a 1-D array, as ``np.unique`` gives them (without the
    import of ``numpy.ma`` that its first call makes)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]
