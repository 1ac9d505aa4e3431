"""RFC 3339 timestamps: the one parser and formatter every part uses."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


@functools.lru_cache(maxsize=4096)
def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp (``Z`` in either case; without an offset, UTC).

    Builders and catalogs repeat the same few timestamps across items, hence the cache.

    Raises:
        ValueError: ``text`` is not one.
    """
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_timestamp(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with a ``Z`` suffix (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def item_interval(properties: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The time span of a STAC object's properties: ``start_datetime`` / ``end_datetime``,
    else ``datetime`` at both ends; None where a bound is absent."""
    start = properties.get("start_datetime") or properties.get("datetime")
    end = properties.get("end_datetime") or properties.get("datetime")
    return (parse_timestamp(start) if start else None, parse_timestamp(end) if end else None)


def build_time() -> datetime:
    """Now, or the moment ``SOURCE_DATE_EPOCH`` names (seconds since 1970), as reproducible
    builds set it: outputs that record when they were made stay identical from run to run."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC)
