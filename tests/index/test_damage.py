"""Damaged index files: every page carries a CRC32 checksum, verified on every read, so damage
is always detected: a search fails with one line naming the file and exit status 1, after the
part of its answer it had written (the crawl's side is in tests/crawl/test_crawl_mirrors.py)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from stacforge.cli import cli
from stacforge.errors import InputError
from stacforge.index import open_index, read_items


@pytest.fixture
def damaged(
    rapidai4eo_catalog: Path, tmp_path: Path, damage_a_page: Callable[[Path], None]
) -> Path:
    """A copy of the RapidAI4EO catalog whose label collection's items.parquet is damaged."""
    catalog = tmp_path / "catalog"
    shutil.copytree(rapidai4eo_catalog.parent, catalog)
    damage_a_page(catalog / "rapidai4eo_v1_labels" / "index" / "items.parquet")
    return catalog


def test_the_index_writes_page_checksums(rapidai4eo_catalog: Path) -> None:
    index = rapidai4eo_catalog.parent / "rapidai4eo_v1_labels" / "index"
    for name in ("items", "search", "assets", "labels"):
        # pyarrow reads a page's CRC into its header; a file with them is verifiably whole.
        parquet = pq.ParquetFile(index / f"{name}.parquet", page_checksum_verification=True)
        assert parquet.read().num_rows > 0


def test_a_search_on_a_damaged_file_fails_in_one_line_and_no_whole_answer(
    damaged: Path, runner: CliRunner
) -> None:
    result = runner.invoke(
        cli, ["search", str(damaged), "--collections", "rapidai4eo_v1_labels", "--format", "items"]
    )
    assert result.exit_code == 1
    with pytest.raises(json.JSONDecodeError):  # the collection streamed so far, unclosed
        json.loads(result.stdout)
    assert result.stderr.count("\n") == 1
    damaged_file = damaged / "rapidai4eo_v1_labels" / "index" / "items.parquet"
    assert f"{damaged_file}: damaged Parquet data" in result.stderr
    # The undamaged collections still answer.
    ok = runner.invoke(cli, ["search", str(damaged), "--collections", "rapidai4eo_v1_source_s2"])
    assert ok.exit_code == 0 and len(ok.stdout.splitlines()) == 120


def test_reading_a_damaged_mirror_raises_input_error(damaged: Path) -> None:
    with pytest.raises(InputError, match="damaged Parquet data"):
        list(read_items(damaged / "rapidai4eo_v1_labels" / "index"))


def test_open_index_of_a_damaged_catalog_names_the_file(damaged: Path) -> None:
    with pytest.raises(InputError) as error:
        list(open_index(damaged).search(collections=["rapidai4eo_v1_labels"]).items())
    assert str(error.value).startswith(str(damaged / "rapidai4eo_v1_labels" / "index"))
