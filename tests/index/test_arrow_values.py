"""Arrow values to and from numpy and Python without pandas: the same values as pyarrow's own
conversions."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from stacforge.index import arrow_values
from stacforge.index.layout import TIMESTAMP


def test_numbers_and_booleans_go_to_arrow_with_their_nulls() -> None:
    null = np.array([False, True, False])
    assert arrow_values.from_numpy(np.array([1, 2, 3]), null=null).to_pylist() == [1, None, 3]
    assert arrow_values.from_numpy(np.array([0.5, 1.5])).type == pa.float64()
    flags = np.array([True, False, True] * 5)
    assert arrow_values.from_numpy(flags).to_pylist() == flags.tolist()


def test_numbers_and_booleans_come_back_as_numpy() -> None:
    numbers = pa.chunked_array([[1.0, None], [3.0]])
    assert arrow_values.to_numpy(numbers, null=np.nan).tolist()[::2] == [1.0, 3.0]
    assert np.isnan(arrow_values.to_numpy(numbers, null=np.nan)[1])
    flags = pa.array([True, False, None, True, True, False, True, False, False, True]).slice(3)
    assert arrow_values.to_numpy(flags, null=False).tolist() == [bool(v) for v in flags.to_pylist()]
    assert arrow_values.to_numpy(pa.chunked_array([], pa.int64())).tolist() == []
    indices = pa.array([2, None], pa.int32())
    assert arrow_values.to_numpy(indices, null=-1).tolist() == [2, -1]


def test_strings_scalars_and_times() -> None:
    assert arrow_values.strings(["a", None, "", "é"]).to_pylist() == ["a", None, "", "é"]
    assert arrow_values.strings([]).type == pa.string()
    assert arrow_values.scalar(False) == pa.scalar(False)
    assert arrow_values.scalar(3) == pa.scalar(3)
    assert arrow_values.scalar("x") == pa.scalar("x")
    moment = datetime(2018, 5, 3, 10, 30, 0, 250, tzinfo=UTC)
    assert arrow_values.timestamp(moment) == pa.scalar(moment, TIMESTAMP)
    micros = pa.scalar(moment, TIMESTAMP).cast(pa.int64()).as_py()
    assert arrow_values.datetimes([micros, None]) == [moment, None]


def test_take_binary_is_take() -> None:
    values = pa.array(["ab", None, "", "cde", "f"] * 3).slice(2)
    indices = np.array([0, 3, 2, 2, 4, 1, 12])
    assert arrow_values.take_binary(values, indices) == values.take(pa.array(indices))
    blobs = pa.chunked_array([[b"x"], [b"yz", None]], pa.large_binary())
    assert arrow_values.take_binary(blobs, np.array([2, 1, 0])).to_pylist() == [None, b"yz", b"x"]
    assert arrow_values.take_binary(blobs, np.array([], dtype=np.intp)).to_pylist() == []


def test_distinct_is_numpys_unique() -> None:
    rng = np.random.default_rng(0)
    for values in (
        np.array([], dtype=np.int64),
        np.array([7]),
        rng.integers(0, 50, 1000),
        rng.integers(0, 10**12, 300),
    ):
        assert np.array_equal(arrow_values.distinct(values), np.unique(values))
