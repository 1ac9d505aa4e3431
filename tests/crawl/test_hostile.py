"""Hostile catalogs over a real loopback server: what a crawl refuses, and that one bad
document or link is reported and skipped while the crawl goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stacforge.cli import cli
from stacforge.crawl import CrawlOptions, crawl
from stacforge.crawl.cache import CorruptEntry, ResponseCache

from .conftest import CatalogFiles, CatalogServer


def _ids(href: str, options: CrawlOptions, **kwargs: Any) -> tuple[set[str], Any]:
    seen: set[str] = set()
    report = crawl(href, lambda item, _: seen.add(item["id"]), options=options, **kwargs)
    return seen, report


def test_a_windows_drive_href_from_http_never_reads_a_local_file(
    files: CatalogFiles,
    serve: Callable[..., CatalogServer],
    quick: CrawlOptions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A local catalog that the hostile link would reach, relative to the working directory.
    local = CatalogFiles(tmp_path / "cwd")
    local.tree({"secret": 1})
    monkeypatch.chdir(tmp_path / "cwd")
    files.container(
        "catalog.json", "Catalog", "root", ["C:/x/../../catalog.json", "c:catalog.json"]
    )
    server = serve(files.root)

    seen, report = _ids(server.url("catalog.json"), quick)

    assert seen == set()
    assert report.failures == []
    assert [w.message for w in report.warnings] == [
        "child link to C:/x/../../catalog.json not followed",
        "child link to c:catalog.json not followed",
    ]


def test_links_after_a_redirect_resolve_against_the_final_url(
    files: CatalogFiles, serve: Callable[..., CatalogServer], quick: CrawlOptions, tmp_path: Path
) -> None:
    files.tree({"c": 2})
    server = serve(files.root, redirects={"a/catalog.json": "/catalog.json"})
    cache = tmp_path / "cache"

    seen, report = _ids(server.url("a/catalog.json"), quick, cache=cache)
    assert seen == {"c-00000", "c-00001"} and report.failures == []

    # Revalidated (304) and offline, the cached redirect still resolves against its target.
    again, report = _ids(server.url("a/catalog.json"), quick, cache=cache)
    assert again == seen and report.failures == []
    offline = CrawlOptions(offline=True)
    again, report = _ids(server.url("a/catalog.json"), offline, cache=cache)
    assert again == seen and report.failures == []


def test_a_redirect_to_another_host_resolves_there(
    files: CatalogFiles, serve: Callable[..., CatalogServer], quick: CrawlOptions, tmp_path: Path
) -> None:
    other = CatalogFiles(tmp_path / "other")
    other.tree({"o": 1})
    target = serve(other.root)
    target_url = target.url("catalog.json").replace("127.0.0.1", "localhost")
    server = serve(files.root, redirects={"catalog.json": target_url})

    seen, report = _ids(server.url("catalog.json"), quick)

    assert seen == {"o-00000"} and report.failures == []


@pytest.mark.parametrize(
    "link",
    [
        {"rel": "child", "href": "http://[::1/x.json"},
        {"rel": "child", "href": "http://127.0.0.1:port/x.json"},
        {"rel": ["child"], "href": "./c/collection.json"},
        {"rel": "child", "href": ["./c/collection.json"]},
        {"rel": None},
        42,
    ],
)
def test_one_malformed_link_is_skipped_and_the_crawl_goes_on(
    link: Any, files: CatalogFiles, serve: Callable[..., CatalogServer], quick: CrawlOptions
) -> None:
    files.tree({"c": 1})
    files.container("catalog.json", "Catalog", "root", [link, "./c/collection.json"])
    server = serve(files.root)

    seen, report = _ids(server.url("catalog.json"), quick)

    assert seen == {"c-00000"}
    assert report.failures == []


def test_a_collection_whose_id_is_not_a_string_is_walked_with_a_warning(
    files: CatalogFiles,
    serve: Callable[..., CatalogServer],
    quick: CrawlOptions,
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    files.tree({"c": 2})
    files.container(
        "c/collection.json",
        "Collection",
        ["c"],  # type: ignore[arg-type]
        [{"rel": "item", "href": f"./c-0000{i}/c-0000{i}.json"} for i in range(2)],
    )
    server = serve(files.root)

    for extra in ([], ["--collections", "c"]):
        index = tmp_path / f"index{len(extra)}"
        result = runner.invoke(
            cli, ["crawl", server.url("catalog.json"), "--index", str(index), *extra]
        )
        assert result.exit_code == 0, result.output
        assert "collection id is not a string" in result.stderr
    result = runner.invoke(cli, ["search", str(tmp_path / "index0"), "--format", "count"])
    assert result.stdout == "2\n"


@pytest.mark.parametrize("start", ["http://[::1/catalog.json", "http://h:port/catalog.json"])
def test_a_malformed_start_url_is_one_line(start: str, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["crawl", start])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "not a valid URL" in result.stderr


@pytest.fixture
def cached(
    files: CatalogFiles, serve: Callable[..., CatalogServer], quick: CrawlOptions, tmp_path: Path
) -> tuple[CatalogServer, ResponseCache]:
    """A one-item catalog on a server, crawled once into a cache."""
    files.tree({"c": 1})
    server = serve(files.root)
    cache = ResponseCache(tmp_path / "cache")
    _ids(server.url("catalog.json"), quick, cache=cache.directory)
    return server, cache


def test_a_cache_entry_edited_on_disk_is_dropped(
    cached: tuple[CatalogServer, ResponseCache], quick: CrawlOptions
) -> None:
    server, cache = cached
    entry = cache.path(server.url("c/c-00000/c-00000.json"))
    data = entry.read_bytes()
    entry.write_bytes(data.replace(b'"c-00000"', b'"x-00000"'))  # same length, other bytes

    with pytest.raises(CorruptEntry):
        cache.get(server.url("c/c-00000/c-00000.json"))
    assert not entry.exists()
    seen, report = _ids(server.url("catalog.json"), quick, cache=cache.directory)
    assert seen == {"c-00000"} and report.failures == []


def test_offline_an_unreadable_entry_is_reported_as_corrupt(
    cached: tuple[CatalogServer, ResponseCache],
) -> None:
    server, cache = cached
    entry = cache.path(server.url("c/collection.json"))
    entry.write_bytes(entry.read_bytes()[:-3])

    _, report = _ids(server.url("catalog.json"), CrawlOptions(offline=True), cache=cache.directory)

    assert [f.message for f in report.failures] == ["the cache entry is corrupt (offline)"]


def test_stale_cache_temporary_files_of_dead_crawls_are_removed(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    cache.put("http://h/x.json", cache_response := _response())
    folder = cache.path("http://h/x.json").parent
    dead = folder / f".{cache.path('http://h/x.json').name}.{_dead_pid()}.abc.tmp"
    dead.write_bytes(b"partial")
    mine_alive = folder / f".{cache.path('http://h/y.json').name}.1.abc.tmp"  # pid 1 lives
    mine_alive.write_bytes(b"in progress")
    unrelated = folder / "notes.txt"
    unrelated.write_text("not ours")

    ResponseCache(tmp_path / "cache").remove_debris()

    assert not dead.exists()
    assert mine_alive.exists() and unrelated.exists()
    assert cache.get("http://h/x.json") == cache_response


def _response() -> Any:
    from stacforge.crawl.cache import CachedResponse

    return CachedResponse(b'{"a": 1}', '"e"', None)


def _dead_pid() -> int:
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_secret_query_parameters_are_not_stored(
    files: CatalogFiles, serve: Callable[..., CatalogServer], runner: CliRunner, tmp_path: Path
) -> None:
    files.tree({"c": 2})
    server = serve(files.root)
    url = server.url("catalog.json") + "?api_key=k3y&token=t0k&X-Amz-Signature=s1g&page=1"
    result = runner.invoke(
        cli,
        ["crawl", url, "--cache", str(tmp_path / "cache"), "--index", str(tmp_path / "index")],
    )
    assert result.exit_code == 0, result.output
    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    for secret in (b"k3y", b"t0k", b"s1g"):
        assert secret not in stored
        assert secret.decode() not in result.output
    assert b"page=1" in stored  # what is no secret stays
