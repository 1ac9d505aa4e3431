"""stacforge.parallel: results in input order, in-process or in a pool, with preloaded modules."""

from __future__ import annotations

from stacforge.parallel import ordered_map, preload


def test_ordered_map_keeps_input_order_in_process_and_in_a_pool() -> None:
    values = [3, -1, 4, -1, -5, 9, -2, 6]
    assert list(ordered_map(abs, values, workers=1)) == [abs(v) for v in values]
    assert list(ordered_map(abs, values, workers=2, in_flight=3)) == [abs(v) for v in values]


def test_pools_work_with_preloaded_modules() -> None:
    preload("json", "stacforge.errors")
    assert list(ordered_map(abs, [-1, 2, -3], workers=2)) == [1, 2, 3]
