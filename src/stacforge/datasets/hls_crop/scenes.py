"""Reads the optional table of the three HLS scenes of each chip.

The dataset's pipeline records, per chip, the HLS granules it merged (``HLS.S30.T14TNS.
2022092T172109.v2.0``), and some copies add their dates. Any CSV in SOURCE's top folder with a
chip id column (``chip_id``, ``chip``, ``id``) and three granule ids or three dates a row is
such a table; ``--scenes PATH`` names one explicitly. Granule ids give the acquisition time
(year, day of year, time of day); dates alone give the day.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from stacforge.datasets.hls_crop import constants as c
from stacforge.errors import InputError
from stacforge.time import format_timestamp

ID_COLUMNS: Final = ("chip_id", "chip", "id", "chip id", "chipid")
_GRANULE: Final = re.compile(
    r"HLS\.[LS]30\.T[0-9A-Z]{5}\.(?P<year>\d{4})(?P<doy>\d{3})T(?P<hms>\d{6})\.v\d+\.\d+"
)
_DATE: Final = re.compile(r"^\s*(?P<date>\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+Z?)?\s*$")


@dataclass(frozen=True, slots=True)
class Scenes:
    """The three scenes of one chip, in time-step order.

    Attributes:
        times: RFC 3339 acquisition times (midnight UTC where only the date is known).
        granules: HLS granule ids, where the table gives them.
    """

    times: tuple[str, ...]
    granules: tuple[str, ...] | None


def find_table(source: Path, given: str | None) -> Path | None:
    """The scene table: ``given`` (relative to ``source`` or absolute), else the first CSV in
    ``source``'s top folder whose header names a chip id column (split lists excepted).

    Raises:
        InputError: ``given`` does not exist.
    """
    if given:
        path = Path(given) if Path(given).is_absolute() else source / given
        if not path.is_file():
            raise InputError(path, "no such scene table (--scenes)")
        return path
    lists = {*c.TRAIN_LISTS, *c.VALIDATION_LISTS}
    for path in sorted(source.glob("*.csv")):
        if path.name not in lists and _id_column(_header(path)) is not None:
            return path
    return None


def read_table(path: Path, *, invalid: Callable[[InputError], None]) -> dict[str, Scenes]:
    """Chip id -> its scenes, from the table at ``path``.

    Raises:
        InputError: No chip id column; or what ``invalid`` raises for a row without three
            granule ids or three dates.
    """
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = next(rows, [])
        column = _id_column(header)
        if column is None:
            raise InputError(path, f"no chip id column ({', '.join(ID_COLUMNS)})", record="line 1")
        found: dict[str, Scenes] = {}
        for line, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row) or column >= len(row):
                continue
            chip = re.sub(r"(_merged|[._]mask)?(\.tiff?)?$", "", row[column].strip())
            scenes = _scenes(row[:column] + row[column + 1 :])
            if scenes is None:
                invalid(
                    InputError(
                        path,
                        f"chip {chip}: expected {c.TIME_STEPS} HLS granule ids or dates",
                        record=f"line {line}",
                    )
                )
                continue
            found[chip] = scenes
    return found


def _scenes(cells: list[str]) -> Scenes | None:
    granules = [m for cell in cells for m in _GRANULE.finditer(cell)]
    if len(granules) == c.TIME_STEPS:
        times = tuple(_granule_time(m) for m in granules)
        return Scenes(times, tuple(m.group(0) for m in granules))
    dates = [m["date"] for cell in cells if (m := _DATE.match(cell))]
    if len(dates) == c.TIME_STEPS:
        try:
            days = [date.fromisoformat(d) for d in dates]
        except ValueError:
            return None
        times = tuple(format_timestamp(datetime.combine(d, datetime.min.time())) for d in days)
        return Scenes(times, None)
    return None


def _granule_time(match: re.Match[str]) -> str:
    day = datetime(int(match["year"]), 1, 1, tzinfo=UTC) + timedelta(days=int(match["doy"]) - 1)
    hms = match["hms"]
    moment = day.replace(hour=int(hms[:2]), minute=int(hms[2:4]), second=int(hms[4:]))
    return format_timestamp(moment)


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f), [])


def _id_column(header: list[str]) -> int | None:
    names = [name.strip().lower() for name in header]
    return next((names.index(n) for n in ID_COLUMNS if n in names), None)
