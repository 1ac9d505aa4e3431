"""A crawl into an index takes collection mirrors whole, as Arrow rows: the same index as the
walk, rows checked one by one, and a mirror damaged part-way finished by the walk."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stacforge.crawl import CrawlOptions
from stacforge.crawl.indexing import crawl_into_index
from stacforge.index.layout import (
    ASSETS_FILE,
    ITEMS_FILE,
    LABELS_FILE,
    MEDIA_TYPE,
    MIRROR_ROLE,
    SEARCH_FILE,
)
from stacforge.index.writer import IndexWriter

if TYPE_CHECKING:
    from conftest import CatalogFiles, CatalogServer

Serve = Callable[..., "CatalogServer"]


def rows(path: Path) -> list[dict[str, object]]:
    """A Parquet file's rows as dicts, in a fixed order, without item row numbers: rows tied on
    the Hilbert curve (the three items of a location) keep their arrival order, and the union
    schema's order of columns and struct fields follows the order the items came in."""
    table = pq.read_table(path)
    if "row" in table.column_names:
        table = table.drop_columns(["row"])
    return sorted(table.to_pylist(), key=repr)


@pytest.mark.parametrize("where", ["http", "disk"])
def test_the_same_index_from_the_mirrors_as_from_the_walk(
    rapidai4eo_catalog: Path, serve: Serve, tmp_path: Path, where: str
) -> None:
    start = str(rapidai4eo_catalog)
    if where == "http":
        start = serve(rapidai4eo_catalog.parent).url("catalog.json")
    mirrored = crawl_into_index(start, tmp_path / "mirrored")
    walked = crawl_into_index(start, tmp_path / "walked", options=CrawlOptions(use_mirrors=False))
    assert (mirrored.report.mirrors, walked.report.mirrors) == (3, 0)
    assert mirrored.report.items == walked.report.items == 360
    assert mirrored.manifest.items == 360 and not mirrored.rejected
    for name in (ITEMS_FILE, SEARCH_FILE, ASSETS_FILE, LABELS_FILE):
        assert rows(tmp_path / "mirrored" / name) == rows(tmp_path / "walked" / name), name


@pytest.fixture
def mirrored_300(files: CatalogFiles) -> Path:
    """Collection ``a`` of 300 items whose mirror has row groups of 128 rows; ``b`` has 2."""
    ids = files.tree({"a": 300, "b": 2})
    collection = files.root / "a" / "collection.json"
    parquet = files.root / "a" / "index"
    with IndexWriter(parquet, source=str(collection), row_group_bytes=1) as writer:
        for item_id in sorted(i for i in ids if i.startswith("a-")):
            path = files.root / "a" / item_id / f"{item_id}.json"
            writer.add(orjson.loads(path.read_bytes()), f"../{item_id}/{item_id}.json")
    data = orjson.loads(collection.read_bytes())
    data["assets"] = {
        "mirror": {"href": "./index/items.parquet", "type": MEDIA_TYPE, "roles": [MIRROR_ROLE]}
    }
    collection.write_bytes(orjson.dumps(data))
    return parquet / ITEMS_FILE


def test_a_mirror_damaged_part_way_is_finished_by_the_walk(
    files: CatalogFiles, mirrored_300: Path, serve: Serve, tmp_path: Path
) -> None:
    metadata = pq.ParquetFile(mirrored_300).metadata
    assert metadata.num_row_groups == 3
    last = metadata.row_group(2)
    # Not in links, which the crawler reads first to know the items' hrefs: the index
    # process meets the damage after two row groups.
    chunk = max(
        (
            last.column(c)
            for c in range(last.num_columns)
            if "links" not in last.column(c).path_in_schema
        ),
        key=lambda c: c.total_compressed_size,
    )
    data = bytearray(mirrored_300.read_bytes())
    middle = chunk.data_page_offset + chunk.total_compressed_size // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    mirrored_300.write_bytes(bytes(data))
    server = serve(files.root)
    done = crawl_into_index(server.url("catalog.json"), tmp_path / "index")
    assert done.report.mirrors == 0 and done.report.items == 302 == done.manifest.items
    (warning,) = [w for w in done.report.warnings if "mirror not read" in w.message]
    assert "damaged Parquet data" in warning.message
    # The first two row groups were taken from the mirror: only the rest was walked.
    walked = [r for r in server.requests if r.path.startswith("/a/a-")]
    assert len(walked) == 300 - 2 * 128
    ids = pq.read_table(tmp_path / "index" / SEARCH_FILE, columns=["id"])["id"].to_pylist()
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 302


def test_rows_it_cannot_index_are_left_out_one_by_one(
    files: CatalogFiles, mirrored_300: Path, tmp_path: Path
) -> None:
    table = pq.read_table(mirrored_300)
    ids = table["id"].to_pylist()
    ids[5] = None
    wkb = table["geometry"].to_pylist()
    wkb[7] = b"\x01\x03\x00"  # cut short
    table = table.set_column(table.schema.get_field_index("id"), "id", pa.array(ids))
    table = table.set_column(
        table.schema.get_field_index("geometry"), "geometry", pa.array(wkb, pa.binary())
    )
    pq.write_table(table, mirrored_300, row_group_size=128, write_page_checksum=True)
    done = crawl_into_index(files.root / "catalog.json", tmp_path / "index")
    assert done.report.mirrors == 1
    assert done.manifest.items == done.report.items == 300
    assert done.report.not_indexed == 2
    assert sorted(str(error) for error in done.rejected) == [
        f"{files.root / 'a' / 'a-00005' / 'a-00005.json'}: row 5: item has no id",
        f"{files.root / 'a' / 'a-00007' / 'a-00007.json'}: item a-00007: item has no readable"
        " geometry",
    ]


def test_a_mirror_of_foreign_rows_is_walked_instead(
    files: CatalogFiles, mirrored_300: Path, tmp_path: Path
) -> None:
    table = pq.read_table(mirrored_300)
    pq.write_table(table.drop_columns(["geometry"]), mirrored_300)
    done = crawl_into_index(files.root / "catalog.json", tmp_path / "index")
    assert done.report.mirrors == 0 and done.manifest.items == 302
    (warning,) = [w for w in done.report.warnings if "mirror not read" in w.message]
    assert "no geometry column" in warning.message
    shutil.rmtree(tmp_path / "index")
