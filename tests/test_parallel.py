"""The parallel-read helper: results in input order from real worker processes, inputs pulled
lazily (bounded in flight), a worker's InputError reaching the caller as the same error."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from stacforge.datasets.rapidai4eo.reader import read_label_classes
from stacforge.errors import InputError
from stacforge.parallel import ordered_map, preload


def test_results_come_in_input_order() -> None:
    numbers = [300, 5, 250, 1, 120, 7] * 10
    assert list(ordered_map(math.factorial, numbers, workers=2)) == [
        math.factorial(n) for n in numbers
    ]


def test_inputs_are_pulled_at_most_in_flight_ahead() -> None:
    pulled: list[int] = []

    def inputs() -> Iterator[int]:
        for n in range(100):
            pulled.append(n)
            yield n

    results = ordered_map(math.factorial, inputs(), workers=2, in_flight=3)
    for done, _ in enumerate(results, start=1):
        assert len(pulled) <= done + 3


def test_a_worker_input_error_reaches_the_caller_as_itself(
    rapidai4eo_source: Path, tmp_path: Path
) -> None:
    folders = [rapidai4eo_source, tmp_path / "missing", rapidai4eo_source]
    results = ordered_map(read_label_classes, folders, workers=2)
    assert len(next(results)) > 40
    with pytest.raises(InputError) as error:
        next(results)
    assert error.value.path == str(tmp_path / "missing" / "rapidai4eo_label_mappings.csv")
    assert str(error.value).endswith(": missing file")


def test_one_worker_runs_in_this_process() -> None:
    seen: list[int] = []
    assert list(ordered_map(seen.append, [1, 2], workers=1)) == [None, None]  # a closure works
    assert seen == [1, 2]


def test_pools_work_with_preloaded_modules() -> None:
    preload("json", "stacforge.errors")
    assert list(ordered_map(abs, [-1, 2, -3], workers=2)) == [1, 2, 3]
