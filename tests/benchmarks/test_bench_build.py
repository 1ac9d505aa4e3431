"""The build benchmark: its pystac baselines write what stacforge writes, and it measures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

import bench_build
from bench_build import Run, summarize
from common import GIB, Progress, measure

SIBLING_RELS = ("related", "source")


def _items(root: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every item file below ``root``, by item id."""
    items = {}
    for path in root.rglob("*.json"):
        obj = orjson.loads(path.read_bytes())
        if obj["type"] == "Feature":
            items[obj["id"]] = (path, obj)
    return items


def _siblings(path: Path, item: dict[str, Any]) -> set[tuple[str, str]]:
    """``(rel, item id)`` of the sibling links of an item, resolved to files that exist."""
    siblings = set()
    for link in item["links"]:
        if link["rel"] in SIBLING_RELS:
            target = (path.parent / link["href"]).resolve()
            assert target.is_file(), link
            siblings.add((link["rel"], target.stem))
    return siblings


def _noop(phase: str, items: int) -> None:
    pass


@pytest.mark.parametrize("baseline", ["build_pystac", "build_pystac_hrefs"])
def test_pystac_baselines_write_the_same_items(
    small_source: Path, tmp_path: Path, baseline: str
) -> None:
    assert bench_build.build_stacforge_no_index(small_source, tmp_path / "ours", _noop) == 90
    assert getattr(bench_build, baseline)(small_source, tmp_path / "theirs", _noop) == 90

    ours, theirs = _items(tmp_path / "ours"), _items(tmp_path / "theirs")
    assert theirs.keys() == ours.keys()
    for item_id, (path, item) in theirs.items():
        our_path, our_item = ours[item_id]
        assert item["properties"] == our_item["properties"]
        assert item["assets"] == our_item["assets"]
        assert item["geometry"] == our_item["geometry"]
        assert _siblings(path, item) == _siblings(our_path, our_item)


def test_measure_reports_a_finished_run(small_source: Path, tmp_path: Path) -> None:
    m = measure(
        bench_build.build_stacforge_no_index,
        small_source,
        tmp_path / "out",
        max_rss=8 * GIB,
        timeout=300,
    )

    assert m.error is None
    assert m.result == 90
    assert m.seconds is not None and m.elapsed is not None
    assert m.user_seconds is not None and m.system_seconds is not None
    assert 0 < m.start_rss <= m.peak_rss
    assert [(p.phase, p.items) for p in m.progress] == [("build", 90)]
    assert (tmp_path / "out" / "catalog.json").is_file()


def test_measure_stops_a_run_over_its_memory_limit(small_source: Path, tmp_path: Path) -> None:
    m = measure(bench_build.build_pystac, small_source, tmp_path / "out", max_rss=1, timeout=300)

    assert m.error is not None and m.error.startswith("stopped at")
    assert m.result is None and m.seconds is None


def _run(tool: str, **fields: Any) -> Run:
    defaults: dict[str, Any] = {
        "locations": 100,
        "repeat": 0,
        "items": None,
        "seconds": None,
        "user_seconds": None,
        "system_seconds": None,
        "elapsed": 0.0,
        "items_per_s": None,
        "peak_rss": 300 << 20,
        "start_rss": 100 << 20,
        "output_bytes": 0,
        "files": 0,
    }
    return Run(tool=tool, **{**defaults, **fields})


def test_a_stopped_baseline_bounds_the_speed_up() -> None:
    finished = {"items": 300, "seconds": 10.0, "elapsed": 10.0, "items_per_s": 30.0}
    runs = [
        _run("stacforge", **finished, user_seconds=8.0, system_seconds=2.0),
        _run(
            "pystac",
            elapsed=100.0,
            peak_rss=600 << 20,
            error="stopped after 100 s (limit 100 s)",
            progress=[Progress("saving", 80.0, 100, 0), Progress("saving", 90.0, 150, 0)],
        ),
    ]

    [row] = summarize(runs)

    # It needed more than 100 s for 300 items; at its saving rate, 90 s + 150 items x 0.2 s.
    [ratios] = row["ratios"]
    assert ratios["speed_at_least"] == pytest.approx(10.0)
    assert ratios["speed_projected"] == pytest.approx(12.0)
    assert ratios["rss"] == pytest.approx(2.0)
    facts = {
        "date": "2026-01-01",
        "cpu": "cpu",
        "cores": 2,
        "memory_gib": 8,
        "python": "3.11",
        "pystac": "1.15",
        "commit": "abc",
        "load_average": [1.0],
    }
    assert ">= 10x (projected 12x)" in bench_build.markdown([row], runs, facts)
