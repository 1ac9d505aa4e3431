"""``stacforge crawl``: the index, the summary, failures, credentials, the status line."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pyarrow.parquet as pq
import pystac
from click.testing import CliRunner

from stacforge.cli import cli
from stacforge.crawl import CrawlReport
from stacforge.crawl.progress import StatusLine

if TYPE_CHECKING:
    from conftest import CatalogFiles, CatalogServer

Serve = Callable[..., "CatalogServer"]


def indexed_ids(index: Path) -> set[str]:
    return set(pq.read_table(index / "items.parquet", columns=["id"])["id"].to_pylist())


def test_crawl_writes_the_index_and_a_warm_rerun_revalidates(
    serve: Serve, realworld: Path, tmp_path: Path, runner: CliRunner
) -> None:
    server = serve(realworld)
    url = server.url("pystac-test-case-4/catalog.json")
    args = ["crawl", url, "--cache", str(tmp_path / "cache"), "--index", str(tmp_path / "index")]
    cold = runner.invoke(cli, args)
    assert cold.exit_code == 0, cold.output
    expected = {
        item.id
        for item in pystac.Catalog.from_file(
            str(realworld / "pystac-test-case-4/catalog.json")
        ).get_items(recursive=True)
    }
    assert indexed_ids(tmp_path / "index") == expected
    manifest = orjson.loads((tmp_path / "index" / "manifest.json").read_bytes())
    assert manifest["source"] == url
    assert cold.stdout.startswith(
        f"crawled {url}: 70 documents, 0 mirrors, 62 items, 0 not indexed in "
    )
    assert "\r" not in cold.stderr  # no status line when stderr is not a terminal

    requests = len(server.requests)
    warm = runner.invoke(cli, [*args, "--overwrite"])
    assert warm.exit_code == 0, warm.output
    assert "70 requests, 0 retries, 70 not modified" in warm.stdout
    assert "0.0 MB downloaded" in warm.stdout
    assert all(r.status == 304 and r.body_bytes == 0 for r in server.requests[requests:])
    assert indexed_ids(tmp_path / "index") == expected

    offline = runner.invoke(cli, [*args, "--overwrite", "--offline"])
    assert offline.exit_code == 0, offline.output
    assert "0 requests" in offline.stdout and "70 from cache" in offline.stdout
    assert len(server.requests) == requests + 70


def test_an_existing_index_needs_overwrite(
    files: CatalogFiles, tmp_path: Path, runner: CliRunner
) -> None:
    files.tree({"a": 1})
    args = ["crawl", str(files.root / "catalog.json"), "--index", str(tmp_path / "index")]
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code == 1
    assert "already exists (use --overwrite to replace it)" in again.stderr


def test_failures_are_listed_and_exit_non_zero(
    serve: Serve, files: CatalogFiles, tmp_path: Path, runner: CliRunner
) -> None:
    files.tree({"a": 3})
    (files.root / "a" / "a-00001" / "a-00001.json").unlink()
    server = serve(files.root, auth=("me", "s3cret"))
    url = server.url("catalog.json").replace("//", "//me:s3cret@")
    result = runner.invoke(
        cli, ["crawl", url, "--index", str(tmp_path / "index"), "--retries", "0"]
    )
    assert result.exit_code == 1
    assert "s3cret" not in result.output
    masked = server.url("a/a-00001/a-00001.json").replace("//", "//me:***@")
    assert f"failed: {masked}: HTTP 404 Not Found" in result.stderr
    assert result.stderr.rstrip().endswith("Error: 1 documents could not be read (listed above)")
    assert (
        "4 documents, 0 mirrors, 2 items, 0 not indexed" in result.stdout
    )  # 5 requested, 1 failed
    # the index holds what was reachable, with hrefs and source free of credentials
    assert indexed_ids(tmp_path / "index") == {"a-00000", "a-00002"}
    index_bytes = b"".join(path.read_bytes() for path in (tmp_path / "index").iterdir())
    assert b"s3cret" not in index_bytes


def test_collections_option_takes_lists(
    files: CatalogFiles, tmp_path: Path, runner: CliRunner
) -> None:
    files.tree({"a": 1, "b": 2, "c": 3})
    result = runner.invoke(
        cli,
        [
            "crawl",
            str(files.root / "catalog.json"),
            "--collections",
            "a,b",
            "--collections",
            "zz",
            "--index",
            str(tmp_path / "index"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert indexed_ids(tmp_path / "index") == {"a-00000", "b-00000", "b-00001"}


def test_offline_without_a_cache_is_an_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["crawl", "http://127.0.0.1:9/catalog.json", "--offline"])
    assert result.exit_code == 1
    assert result.stderr == "Error: an offline crawl needs a cache to answer from\n"


def test_status_line_redraws_in_place_and_clears() -> None:
    stream = io.StringIO()
    status = StatusLine(stream, interval=0.0)
    status(CrawlReport(documents=12, items=10))
    status(CrawlReport(documents=3, items=1))
    status.clear()
    first, second, cleared = stream.getvalue().split("\r")[1:4]
    assert first.startswith("12 documents, 10 items, 0 errors, ")
    assert second.startswith("3 documents, 1 items, 0 errors, ") and len(second) == len(first)
    assert cleared == " " * len(first)
