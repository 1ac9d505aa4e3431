"""What a crawl did: counts, retries, and every document that failed or needed a remark."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Problem(NamedTuple):
    """A document that failed, or that was read but needed a remark.

    Attributes:
        href: The document's href, with credentials redacted.
        message: What happened, in a few words.
    """

    href: str
    message: str

    def __str__(self) -> str:
        return f"{self.href}: {self.message}"


@dataclass
class CrawlReport:
    """Counts kept while crawling; the crawler and its HTTP client update one report.

    Attributes:
        documents: Catalogs, collections and items read (from the network, cache or disk).
        items: Items handed to the item sink (and, in a crawl into an index, indexed).
        not_indexed: Items read but left out (malformed, or what the index cannot hold); each
            has a warning saying why.
        requests: HTTP requests sent, retries included.
        retries: Requests repeated after a timeout, connection error, 429, 5xx or bad body.
        not_modified: Revalidations answered ``304 Not Modified`` (body taken from the cache).
        from_cache: Documents answered from the cache without a request (``offline``).
        bytes_downloaded: Response body bytes received over the network.
        mirrors: Collections whose items were read from their mirror instead of a walk.
        elapsed: Seconds the crawl took.
        failures: Documents that could not be read; their subtrees are missing.
        warnings: Documents read but normalised, skipped or rejected in part.
    """

    documents: int = 0
    items: int = 0
    not_indexed: int = 0
    requests: int = 0
    retries: int = 0
    not_modified: int = 0
    from_cache: int = 0
    bytes_downloaded: int = 0
    mirrors: int = 0
    elapsed: float = 0.0
    failures: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every document was read."""
        return not self.failures

    def summary(self) -> str:
        """One line with the counts, e.g. for the end of ``stacforge crawl``."""
        rate = self.documents / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"{self.documents} documents, {self.mirrors} mirrors, {self.items} items, "
            f"{self.not_indexed} not indexed in {self.elapsed:.1f} s "
            f"({rate:.0f} documents/s); {self.requests} requests, {self.retries} retries, "
            f"{self.not_modified} not modified, {self.from_cache} from cache, "
            f"{self.bytes_downloaded / 1e6:.1f} MB downloaded; "
            f"{len(self.failures)} failed, {len(self.warnings)} warnings"
        )
