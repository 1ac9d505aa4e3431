"""``stacforge stats`` on big indexes: seconds and memory against reading the same columns.

The input is synthetic: index files with the columns ``stacforge stats`` reads, for N label
items (600 m squares spread over Europe, split 80/10/10 into train/validate/test, three of 20
classes with counts per item). The baseline is the floor any implementation pays: reading the
same Parquet columns with pyarrow and nothing else. Each run is a fresh process
(``common.measure``). Usage::

    .venv/bin/python benchmarks/bench_stats.py --items 100000 1000000

Writes ``benchmarks/results/stats.json`` and ``stats.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GIB, machine, markdown_table, measure

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parent / ".data"
CLASSES = [f"class_{n:02d}" for n in range(20)]
LABEL_COLUMNS = ["row", "property_key", "name", "count", "value"]


def write_index(folder: Path, items: int, seed: int = 0) -> None:
    """Synthetic ``items.parquet`` and ``labels.parquet`` of ``items`` label items."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-10, 30, items)
    lat = rng.uniform(36, 70, items)
    size = 0.0054  # about 600 m
    geometry = shapely.to_wkb(shapely.box(lon, lat, lon + size, lat + size))
    bbox = pa.StructArray.from_arrays(
        [pa.array(lon), pa.array(lat), pa.array(lon + size), pa.array(lat + size)],
        names=["xmin", "ymin", "xmax", "ymax"],
    )
    ids = pa.array([f"item_{n:08d}" for n in range(items)])
    split = rng.choice(["train", "validate", "test"], size=items, p=[0.8, 0.1, 0.1])
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "id": ids,
                "collection": pa.array(["synthetic_labels"] * items).dictionary_encode(),
                "label:type": pa.array(["vector"] * items).dictionary_encode(),
                "ml-aoi:split": pa.array(split).dictionary_encode(),
                "bbox": bbox,
                "geometry": pa.array(geometry, pa.binary()),
            }
        ),
        folder / "items.parquet",
        row_group_size=100_000,
    )
    rows = np.repeat(np.arange(items), 3)
    names = np.array(CLASSES)[rng.integers(0, len(CLASSES), size=rows.size)]
    pq.write_table(
        pa.table(
            {
                "row": pa.array(rows, pa.int64()),
                "id": ids.take(pa.array(rows)),
                "property_key": pa.array(["class"] * rows.size).dictionary_encode(),
                "name": pa.array(names).dictionary_encode(),
                "count": pa.array(rng.integers(1, 50, size=rows.size), pa.int64()),
                "value": pa.nulls(rows.size, pa.float64()),
            }
        ),
        folder / "labels.parquet",
        row_group_size=300_000,
    )


def run_stats(index: str, out: str, output_format: str, report: Callable[..., None]) -> int:
    from stacforge.stats import write_stats

    return len(write_stats(index, out, format=output_format))  # type: ignore[arg-type]


def read_columns(index: str, out: str, output_format: str, report: Callable[..., None]) -> int:
    columns = ["collection", "label:type", "ml-aoi:split", "bbox"]  # what stats reads
    items = pq.read_table(Path(index) / "items.parquet", columns=columns)
    labels = pq.read_table(Path(index) / "labels.parquet", columns=LABEL_COLUMNS)
    return items.num_rows + labels.num_rows


CASES: dict[str, tuple[Callable[..., int], str]] = {
    "read the columns (pyarrow)": (read_columns, "json"),
    "stacforge stats --format json": (run_stats, "json"),
    "stacforge stats (png)": (run_stats, "png"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="stats-", dir=DATA))
    runs: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    try:
        for items in args.items:
            index = work / f"index-{items}"
            write_index(index, items)
            cases: dict[str, dict[str, Any]] = {}
            for repeat in range(args.repeat):
                order = list(CASES) if repeat % 2 == 0 else list(reversed(CASES))
                for name in order:
                    fn, output_format = CASES[name]
                    out = work / f"out-{items}-{repeat}"
                    done = measure(
                        fn, str(index), str(out), output_format, max_rss=8 * GIB, timeout=600
                    )
                    runs.append(
                        {
                            "name": name,
                            "items": items,
                            "repeat": repeat,
                            "seconds": done.seconds,
                            "user_seconds": done.user_seconds,
                            "peak_rss": done.peak_rss,
                            "error": done.error,
                        }
                    )
                    best = cases.setdefault(name, {"runs": 0, "seconds": None, "peak_rss": 0})
                    if done.seconds is not None:
                        best["runs"] += 1
                        best["seconds"] = min(best["seconds"] or done.seconds, done.seconds)
                        best["peak_rss"] = max(best["peak_rss"], done.peak_rss)
            summary.append({"items": items, "cases": cases})
            shutil.rmtree(index)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    result = {"machine": machine(), "summary": summary, "runs": runs}
    (RESULTS / "stats.json").write_text(json.dumps(result, indent=1) + "\n")
    header = ["items", "case", "seconds (best)", "peak RSS (MiB)", "ratio to reading the columns"]
    rows = []
    for entry in summary:
        floor = entry["cases"]["read the columns (pyarrow)"]["seconds"]
        for name, case in entry["cases"].items():
            seconds = case["seconds"]
            ratio = seconds / floor if seconds and floor else None
            rows.append(
                [
                    f"{entry['items']:,}",
                    name,
                    seconds,
                    case["peak_rss"] / 2**20,
                    ratio,
                ]
            )
    table = markdown_table(header, rows)
    command = "python benchmarks/bench_stats.py --items " + " ".join(map(str, args.items))
    (RESULTS / "stats.md").write_text(f"`{command}`\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    main()
