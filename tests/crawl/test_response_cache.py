"""The on-disk response cache: hashed names, atomic entries, damaged entries dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacforge.crawl.cache import CachedResponse, CorruptEntry, ResponseCache


def test_round_trip_keeps_body_and_validators(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    response = CachedResponse(b'{"id": "x"}', etag='"abc"', last_modified="Wed, 01 Jan 2020")
    cache.put("https://h/c.json", response)
    assert cache.get("https://h/c.json") == response
    assert cache.get("https://h/other.json") is None


def test_entry_names_never_come_from_the_url(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    url = "https://h/../../../../escape.json"
    cache.put(url, CachedResponse(b"{}"))
    (entry,) = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert entry.parent.parent == tmp_path / "cache"
    assert len(entry.name) == 64 and entry.name.startswith(entry.parent.name)


def test_credentials_are_not_written(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    cache.put("https://me:s3cret@h/c.json", CachedResponse(b"{}"))
    assert b"s3cret" not in cache.path("https://me:s3cret@h/c.json").read_bytes()


@pytest.mark.parametrize("keep", [0, 10, -3], ids=["empty", "header cut", "body cut"])
def test_damaged_entry_is_dropped(tmp_path: Path, keep: int) -> None:
    # Entries are not fsynced: after a machine crash one may be empty or cut short.
    cache = ResponseCache(tmp_path)
    cache.put("https://h/c.json", CachedResponse(b'{"id": "x"}'))
    path = cache.path("https://h/c.json")
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(CorruptEntry):
        cache.get("https://h/c.json")
    assert not path.exists()
    assert cache.get("https://h/c.json") is None
