"""Sub-collections by WGSRPD region: continent / level-2 region / botanical country, and
deeper where a country holds too many occurrences for one collection file.

The CSV pass counts occurrences per botanical country and per 1-degree cell of each country;
:meth:`Regions.partition` then places an occurrence in its country, in the country's 1-degree
cell where the country has more than ``limit`` occurrences, and in a bucket of the cell (by
gbifid) where even the cell has more.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter

from stacforge.datasets.deeporchidseries.constants import CONTINENTS
from stacforge.datasets.deeporchidseries.reader import Occurrence

UNKNOWN = "unknown"
_UNSAFE = re.compile(r"[^a-z0-9-]+")

Country = tuple[str, str, str]


class Regions:
    """Counts occurrences per region while the CSV streams, then places each one.

    Args:
        limit: Most occurrences one sub-collection should list.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._countries: Counter[Country] = Counter()
        self._cells: Counter[tuple[Country, str]] = Counter()

    def count(self, occurrence: Occurrence) -> None:
        """Counts one occurrence (every occurrence, before any :meth:`partition`)."""
        country = country_of(occurrence)
        self._countries[country] += 1
        self._cells[country, cell_of(occurrence)] += 1

    def partition(self, occurrence: Occurrence) -> tuple[str, ...]:
        """The sub-collection path of an occurrence, outermost first."""
        country = country_of(occurrence)
        if self._countries[country] <= self.limit:
            return country
        cell = cell_of(occurrence)
        n = self._cells[country, cell]
        if n <= self.limit:
            return (*country, cell)
        buckets = math.ceil(n / (self.limit * 0.8))  # random buckets: leave room for spread
        bucket = zlib.crc32(occurrence.gbifid.encode()) % buckets
        return (*country, cell, f"part-{bucket}")


def country_of(occurrence: Occurrence) -> Country:
    """Continent (``1-europe``), level-2 region and botanical country keys of an occurrence."""
    continent = occurrence.continent_code
    if continent is not None and continent in CONTINENTS:
        continent_key = f"{continent}-{CONTINENTS[continent]}"
    else:
        continent_key = _key(continent)
    return continent_key, _key(occurrence.lvl2_code), _key(occurrence.bot_code)


def cell_of(occurrence: Occurrence) -> str:
    """The 1-degree cell of the occurrence, named by its south-west corner: ``n43e003``."""
    south = math.floor(occurrence.latitude)
    west = math.floor(occurrence.longitude)
    return f"{'n' if south >= 0 else 's'}{abs(south):02d}{'e' if west >= 0 else 'w'}{abs(west):03d}"


def _key(code: str | None) -> str:
    if code is None:
        return UNKNOWN
    return _UNSAFE.sub("-", code.lower()).strip("-") or UNKNOWN
