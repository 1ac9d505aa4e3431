"""The HTTP client against a real server: cache revalidation, retries, limits, credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from stacforge.crawl.cache import ResponseCache
from stacforge.crawl.client import HttpClient, RetryPolicy
from stacforge.crawl.documents import Document, FetchError
from stacforge.crawl.report import CrawlReport

if TYPE_CHECKING:
    from conftest import CatalogFiles, CatalogServer

Serve = Callable[..., "CatalogServer"]
QUICK = RetryPolicy(retries=3, backoff=0.01)


def fetch(url: str, **settings: Any) -> tuple[Document | FetchError, CrawlReport]:
    """Fetches one URL with a fresh client; returns the document (or error) and the report."""
    report = CrawlReport()
    settings.setdefault("retry", QUICK)

    async def run() -> Document | FetchError:
        async with HttpClient(report, **settings) as client:
            try:
                return await client.fetch(url)
            except FetchError as error:
                return error

    return asyncio.run(run()), report


@pytest.fixture
def catalog(files: CatalogFiles) -> Path:
    files.tree({"a": 2})
    return files.root


def test_warm_fetch_revalidates_with_etag(serve: Serve, catalog: Path, tmp_path: Path) -> None:
    server = serve(catalog)
    cache = ResponseCache(tmp_path / "cache")
    cold, cold_report = fetch(server.url("catalog.json"), cache=cache)
    warm, warm_report = fetch(server.url("catalog.json"), cache=cache)
    assert isinstance(cold, Document) and isinstance(warm, Document)
    assert warm.data == cold.data
    assert cold_report.bytes_downloaded > 0
    assert warm_report.requests == warm_report.not_modified == 1
    assert warm_report.bytes_downloaded == 0
    assert "If-None-Match" not in server.requests[0].headers
    assert "If-None-Match" in server.requests[1].headers
    assert server.count("catalog.json", status=304) == 1


def test_warm_fetch_revalidates_with_last_modified(
    serve: Serve, catalog: Path, tmp_path: Path
) -> None:
    server = serve(catalog, etags=False)
    cache = ResponseCache(tmp_path / "cache")
    fetch(server.url("catalog.json"), cache=cache)
    _, report = fetch(server.url("catalog.json"), cache=cache)
    assert "If-Modified-Since" in server.requests[1].headers
    assert report.not_modified == 1


def test_offline_answers_from_the_cache_only(serve: Serve, catalog: Path, tmp_path: Path) -> None:
    server = serve(catalog)
    cache = ResponseCache(tmp_path / "cache")
    fetch(server.url("catalog.json"), cache=cache)
    hit, hit_report = fetch(server.url("catalog.json"), cache=cache, offline=True)
    miss, _ = fetch(server.url("a/collection.json"), cache=cache, offline=True)
    assert isinstance(hit, Document) and hit_report.from_cache == 1
    assert isinstance(miss, FetchError) and miss.reason == "not in the cache (offline)"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "fault",
    [{"status": 503}, {"status": 429}, {"status": 500}, {"cut": "connection"}, {"cut": "json"}],
)
def test_transient_faults_are_retried(
    serve: Serve, catalog: Path, tmp_path: Path, fault: dict[str, Any]
) -> None:
    server = serve(catalog)
    server.fault("catalog.json", times=2, **fault)
    cache = ResponseCache(tmp_path / "cache")
    document, report = fetch(server.url("catalog.json"), cache=cache)
    assert isinstance(document, Document) and document.data["id"] == "root"
    assert (report.requests, report.retries) == (3, 2)
    assert cache.get(server.url("catalog.json")) is not None


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"status": 503}, "HTTP 503 (after 3 retries)"),
        ({"cut": "connection"}, "body cut short (after 3 retries)"),
        ({"cut": "json"}, "invalid JSON (unexpected end of data"),
    ],
)
def test_persistent_faults_fail_and_are_never_cached(
    serve: Serve, catalog: Path, tmp_path: Path, fault: dict[str, Any], reason: str
) -> None:
    server = serve(catalog)
    server.fault("catalog.json", times=4, **fault)
    cache = ResponseCache(tmp_path / "cache")
    error, report = fetch(server.url("catalog.json"), cache=cache)
    assert isinstance(error, FetchError) and error.reason.startswith(reason)
    assert (report.requests, report.retries) == (4, 3)
    assert cache.get(server.url("catalog.json")) is None


def test_slow_response_times_out_and_is_retried(serve: Serve, catalog: Path) -> None:
    server = serve(catalog)
    server.fault("catalog.json", delay=1.0)
    document, report = fetch(server.url("catalog.json"), timeout=0.3)
    assert isinstance(document, Document)
    assert report.retries == 1


def test_retry_after_is_honoured(serve: Serve, catalog: Path) -> None:
    server = serve(catalog)
    server.fault("catalog.json", status=429, retry_after="1")
    document, _ = fetch(server.url("catalog.json"))
    assert isinstance(document, Document)
    first, second = server.requests
    assert second.received - first.received >= 1.0


def test_retry_delay_grows_and_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, max_delay=10.0)
    assert 0.5 <= policy.delay(1) <= 1.0
    assert 4.0 <= policy.delay(4) <= 8.0
    assert policy.delay(10) == 10.0
    assert policy.delay(1, retry_after=7.0) == 7.0
    assert policy.delay(1, retry_after=3600.0) == 10.0


@pytest.mark.parametrize("status", [404, 403, 410])
def test_client_errors_are_not_retried(serve: Serve, catalog: Path, status: int) -> None:
    server = serve(catalog)
    server.fault("catalog.json", status=status)
    error, report = fetch(server.url("catalog.json"))
    assert isinstance(error, FetchError) and error.reason.startswith(f"HTTP {status}")
    assert report.requests == 1


def test_missing_file_is_a_404(serve: Serve, catalog: Path) -> None:
    error, _ = fetch(serve(catalog).url("nope.json"))
    assert isinstance(error, FetchError) and error.reason == "HTTP 404 Not Found"


def test_response_size_is_capped(serve: Serve, catalog: Path) -> None:
    server = serve(catalog)
    error, report = fetch(server.url("a/collection.json"), max_bytes=100)
    assert isinstance(error, FetchError) and "size limit" in error.reason
    assert report.requests == 1


def test_credentials_in_the_url_are_used_and_never_shown(serve: Serve, catalog: Path) -> None:
    server = serve(catalog, auth=("me", "s3cret"))
    url = server.url("catalog.json").replace("//", "//me:s3cret@")
    document, _ = fetch(url)
    assert isinstance(document, Document) and document.data["id"] == "root"
    error, _ = fetch(url.replace("catalog.json", "nope.json"))
    assert isinstance(error, FetchError)
    assert "s3cret" not in str(error) and "me:***@" in str(error)


def test_credentials_from_a_netrc_file_are_used(
    serve: Serve, catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(catalog, auth=("me", "s3cret"))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login me password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    document, _ = fetch(server.url("catalog.json"))
    assert isinstance(document, Document) and document.data["id"] == "root"


def test_a_proxy_from_the_environment_is_used(
    serve: Serve, catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = serve(catalog)  # answers the proxied request itself
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    document, _ = fetch("http://catalog.invalid/catalog.json")
    assert isinstance(document, Document) and document.data["id"] == "root"
    assert proxy.count("catalog.json") == 1
