"""Link resolution, followed schemes and credential hiding."""

from __future__ import annotations

import os

import pytest

from stacforge.crawl.hrefs import start_href
from stacforge.errors import StacforgeError
from stacforge.hrefs import redact, resolve, storable


@pytest.mark.parametrize(
    ("href", "base", "expected"),
    [
        ("./a/item.json", "http://h/cat/catalog.json", "http://h/cat/a/item.json"),
        ("../b.json#part", "http://h/cat/x/c.json", "http://h/cat/b.json"),
        ("/root.json", "http://h/cat/catalog.json", "http://h/root.json"),
        ("https://other/c.json", "http://h/catalog.json", "https://other/c.json"),
        ("file:///etc/passwd", "http://h/catalog.json", None),
        ("s3://bucket/c.json", "https://h/catalog.json", None),
        ("./a/item.json", "/data/cat/catalog.json", "/data/cat/a/item.json"),
        ("../b.json", "/data/cat/x/c.json", "/data/cat/b.json"),
        ("/elsewhere/c.json", "/data/catalog.json", "/elsewhere/c.json"),
        ("file:///data/my%20dir/c.json", "/data/catalog.json", "/data/my dir/c.json"),
        ("https://h/c.json", "/data/catalog.json", "https://h/c.json"),
        ("s3://bucket/c.json", "/data/catalog.json", None),
    ],
)
def test_resolve(href: str, base: str, expected: str | None) -> None:
    assert resolve(href, base) == expected


def test_start_href_makes_local_paths_absolute() -> None:
    assert start_href("cat/catalog.json") == os.path.join(os.getcwd(), "cat", "catalog.json")
    assert start_href("file:///data/catalog.json") == "/data/catalog.json"
    assert start_href("http://h/catalog.json#x") == "http://h/catalog.json"
    with pytest.raises(StacforgeError, match="only http"):
        start_href("s3://bucket/catalog.json")


def test_redact_hides_passwords_and_signed_query_values() -> None:
    url = "https://me:s3cret@h/c.json?X-Amz-Signature=abc&sv=2020&sig=xyz&page=2"
    assert redact(url) == "https://me:***@h/c.json?X-Amz-Signature=***&sv=2020&sig=***&page=2"
    assert redact("https://token@h/c.json") == "https://***@h/c.json"
    assert redact("/local/path.json") == "/local/path.json"


def test_storable() -> None:
    assert storable("https://me:s3cret@h:8080/c.json") == "https://h:8080/c.json"
    assert storable("https://h/c.json") == "https://h/c.json"
    signed = "https://h/c.json?X-Amz-Signature=abc&sv=2020&sig=s3&page=2&api_key=k&token=t"
    assert storable(signed) == "https://h/c.json?sv=2020&page=2"


def test_resolve_refuses_what_a_remote_document_may_not_lead_to() -> None:
    base = "https://h/a/catalog.json"
    # A Windows drive path is not a URL with the scheme "c": never a local file from HTTP.
    assert resolve("C:/x/catalog.json", base) is None
    assert resolve("c:\\x\\catalog.json", base) is None
    assert resolve("file:///etc/passwd", base) is None
    assert resolve("/b/c.json", base) == "https://h/b/c.json"
    # Malformed URLs are refused, not raised.
    assert resolve("http://[::1/x.json", base) is None
    assert resolve("http://h:port/x.json", base) is None
    assert resolve("http://[::1/x.json", "/local/catalog.json") is None


def test_backslashes_in_relative_hrefs_are_separators() -> None:
    assert resolve("a\\b\\item.json", "/cat/catalog.json") == "/cat/a/b/item.json"
    assert resolve("..\\x.json", "https://h/a/catalog.json") == "https://h/x.json"
