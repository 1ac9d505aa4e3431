"""Asynchronous crawling of static STAC catalogs (HTTP or local) through an on-disk cache."""

from stacforge.crawl.client import RetryPolicy
from stacforge.crawl.crawler import Crawler, CrawlOptions, ItemSink, crawl, crawl_async
from stacforge.crawl.report import CrawlReport, Problem

__all__ = [
    "CrawlOptions",
    "CrawlReport",
    "Crawler",
    "ItemSink",
    "Problem",
    "RetryPolicy",
    "crawl",
    "crawl_async",
]
