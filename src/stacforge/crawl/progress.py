"""A one-line crawl status for terminals, rewritten in place."""

from __future__ import annotations

import time
from typing import TextIO

from stacforge.crawl.report import CrawlReport


class StatusLine:
    """Shows documents, items, errors and rate on one line of ``stream`` (``\\r``, no newline).

    Call it with the running report (it is a ``ProgressCallback``); it redraws at most every
    ``interval`` seconds. :meth:`clear` blanks the line before the final summary is printed.

    Args:
        stream: A terminal, usually ``sys.stderr``.
        interval: Seconds between redraws.
    """

    def __init__(self, stream: TextIO, interval: float = 0.2):
        self._stream = stream
        self._interval = interval
        self._started = time.monotonic()
        self._drawn = -interval
        self._width = 0

    def __call__(self, report: CrawlReport) -> None:
        now = time.monotonic() - self._started
        if now - self._drawn < self._interval:
            return
        self._drawn = now
        rate = report.documents / now if now > 0 else 0.0
        text = (
            f"{report.documents} documents, {report.items} items, "
            f"{len(report.failures)} errors, {rate:.0f} documents/s"
        )
        # Pad to the widest line so far, so no tail of a longer one stays visible.
        text = text.ljust(self._width)
        self._write(text)
        self._width = len(text)

    def clear(self) -> None:
        """Blanks the status line, if one was drawn."""
        if self._width:
            self._write(" " * self._width + "\r")
            self._width = 0

    def _write(self, text: str) -> None:
        self._stream.write("\r" + text)
        self._stream.flush()
