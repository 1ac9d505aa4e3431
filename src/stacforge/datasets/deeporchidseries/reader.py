"""Reads DeepOrchidSeries: the occurrences CSV, streamed once, and the image folders, each
listed once, with only the PNG headers of each occurrence's patches read.

The CSV pass (:func:`scan_occurrences`) checks every row and spills it to a file per top image
folder (``gbifid[-2:]``), so that a build later holds the rows of one top folder at a time and
gathers the occurrences of each leaf folder (``gbifid[-4:-2]``) before listing it. Folder reads
(:func:`read_folder`) run in worker processes and return small records.
"""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from stacforge.datasets.deeporchidseries.constants import (
    BIT_DEPTH,
    CHANNELS,
    CLASS_INDEX_FILE,
    CSV_COLUMNS,
    CSV_DELIMITER,
    CSV_FILE,
    IMAGE_NAME,
    IMAGES_FOLDER,
    KINDS,
    MONTHS,
    PATCH_PIXELS,
)
from stacforge.datasets.deeporchidseries.footprint import Footprint, patch_footprint
from stacforge.datasets.deeporchidseries.png import read_png_header
from stacforge.errors import InputError

_SPILL_BATCH = 2_000  # rows per pickled batch in a spill file
_MISSING = frozenset({"", "nan", "na", "null", "none"})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One row of the occurrences CSV, checked."""

    line: int
    gbifid: str
    canonical_name: str
    latitude: float
    longitude: float
    species_key: int
    cell_index: str
    bot_country: str | None
    bot_code: str | None
    lvl2_code: str | None
    continent_code: str | None

    @property
    def folder(self) -> str:
        """The image folder below ``final_dataset_by_gbifid``: ``gbifid[-2:]/gbifid[-4:-2]``."""
        return f"{self.gbifid[-2:]}/{self.gbifid[-4:-2]}"

    @property
    def record(self) -> str:
        return f"line {self.line}, gbifid {self.gbifid}"


@dataclass(frozen=True, slots=True)
class Patch:
    """One monthly PNG of an occurrence: kind (``RGB`` or ``IR0``), month, file name, bytes."""

    kind: str
    year: int
    month: int
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class Sample:
    """An occurrence with its 24 checked patches (chronological, RGB before IR0 within a
    month) and its footprint."""

    occurrence: Occurrence
    patches: tuple[Patch, ...]
    footprint: Footprint


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an occurrence yields no item. ``row_level`` problems (bad CSV values, no images)
    are reported skips unless the build is strict; the others are bad input
    (:meth:`~stacforge.datasets.BuildOptions.invalid`)."""

    error: InputError
    row_level: bool


@dataclass(frozen=True, slots=True)
class FolderTask:
    """One leaf image folder and the occurrences whose patches are in it (CSV order)."""

    csv_path: str
    folder: str
    occurrences: tuple[Occurrence, ...]


@dataclass
class Scan:
    """What the CSV pass learnt: species, counts per top image folder, and the spill files.

    Attributes:
        csv_path: The occurrences CSV.
        spill: The spill files, one per top image folder; removed when the scan is collected.
        species: Canonical name of each speciesKey (the first name met).
        top_folders: Valid rows per top image folder (``gbifid[-2:]``).
    """

    csv_path: Path
    spill: tempfile.TemporaryDirectory[str]
    species: dict[int, str] = field(default_factory=dict)
    top_folders: Counter[str] = field(default_factory=Counter)


def read_class_index(source: Path) -> dict[int, int] | None:
    """Reads the optional ``index.json`` (``{"class_index": speciesKey}``) as
    ``{speciesKey: class_index}``; None when the file is absent.

    Raises:
        InputError: The file is not such a mapping, or two classes name one species.
    """
    path = source / CLASS_INDEX_FILE
    if not path.is_file():
        return None
    try:
        mapping = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(path, f"not JSON ({error})") from None
    if not isinstance(mapping, dict) or not mapping:
        raise InputError(path, 'expected an object {"class_index": speciesKey}')
    by_species: dict[int, int] = {}
    for key, value in mapping.items():
        try:
            index, species_key = int(key), int(_integer(str(value)))
        except ValueError:
            raise InputError(
                path, f"not a class index and speciesKey: {key!r}: {value!r}"
            ) from None
        if by_species.setdefault(species_key, index) != index:
            raise InputError(path, f"speciesKey {species_key} has two class indexes", record=key)
    return by_species


def scan_occurrences(
    source: Path,
    *,
    skip_row: Callable[[InputError], None],
    on_row: Callable[[Occurrence], None] | None = None,
) -> Scan:
    """Streams the occurrences CSV once: checks each row, spills it to its top folder's file.

    Args:
        source: The SOURCE folder.
        skip_row: Receives the error of each row that cannot make an item (bad coordinates or
            values); it raises to stop the build, or returns to skip the row.
        on_row: Sees every valid row (the geographic partitioning counts them).

    Raises:
        InputError: The CSV is missing, unreadable or lacks a column.
    """
    path = source / CSV_FILE
    if not path.is_file():
        raise InputError(path, "missing file")
    scan = Scan(csv_path=path, spill=tempfile.TemporaryDirectory(prefix="stacforge-dos-"))
    spill = Path(scan.spill.name)
    batches: dict[str, list[Occurrence]] = {}
    files: dict[str, IO[bytes]] = {}

    def flush(top: str) -> None:
        if top not in files:
            files[top] = (spill / f"{top}.pickle").open("wb")
        pickle.dump(batches.pop(top), files[top], protocol=pickle.HIGHEST_PROTOCOL)

    line = 1
    try:
        # utf-8-sig: the CSV may open with a byte order mark.
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = csv.reader(f, delimiter=CSV_DELIMITER)
            columns = _columns(path, next(rows, None))
            for line, row in enumerate(rows, start=2):
                if not row or not any(value.strip() for value in row):
                    continue
                occurrence = _occurrence(path, line, row, columns)
                if isinstance(occurrence, InputError):
                    skip_row(occurrence)
                    continue
                if on_row is not None:
                    on_row(occurrence)
                scan.species.setdefault(occurrence.species_key, occurrence.canonical_name)
                top = occurrence.gbifid[-2:]
                scan.top_folders[top] += 1
                batch = batches.setdefault(top, [])
                batch.append(occurrence)
                if len(batch) >= _SPILL_BATCH:
                    flush(top)
        for top in list(batches):
            flush(top)
    except (UnicodeDecodeError, csv.Error) as error:
        scan.spill.cleanup()
        raise InputError(path, f"unreadable ({error})", record=f"line {line}") from None
    except BaseException:
        scan.spill.cleanup()
        raise
    finally:
        for file in files.values():
            file.close()
    return scan


def spilled(scan: Scan, top: str) -> Iterator[Occurrence]:
    """The rows of the top image folder ``top``, in CSV order."""
    path = Path(scan.spill.name) / f"{top}.pickle"
    if not path.exists():
        return
    with path.open("rb") as f:
        while True:
            try:
                batch: list[Occurrence] = pickle.load(f)
            except EOFError:
                return
            yield from batch


def folder_tasks(scan: Scan, tops: Iterable[str]) -> Iterator[FolderTask]:
    """One task per leaf image folder of the top folders ``tops``, holding one top folder's
    rows in memory at a time."""
    images = scan.csv_path.parent / IMAGES_FOLDER
    for top in tops:
        by_folder: dict[str, list[Occurrence]] = {}
        for occurrence in spilled(scan, top):
            by_folder.setdefault(occurrence.folder, []).append(occurrence)
        for folder in sorted(by_folder):
            yield FolderTask(str(scan.csv_path), str(images / folder), tuple(by_folder[folder]))


def read_folder(task: FolderTask) -> list[Sample | Problem]:
    """Lists one leaf image folder and checks the patches of each of its occurrences.

    Runs in a worker process (:func:`stacforge.parallel.ordered_map`): only file names and
    PNG headers are read; the result holds one small record per occurrence, in task order.
    """
    folder = task.folder
    wanted = {o.gbifid for o in task.occurrences}
    found: dict[str, list[tuple[str, int, int, str]]] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                match = IMAGE_NAME.match(entry.name)
                if match is not None and match["gbifid"] in wanted:
                    found.setdefault(match["gbifid"], []).append(
                        (match["kind"].upper(), int(match["year"]), int(match["month"]), entry.name)
                    )
    except FileNotFoundError:
        pass  # no image folder: every occurrence of the task has no images
    except OSError as error:
        unlisted = InputError(folder, f"cannot list the image folder ({error.strerror})")
        return [Problem(unlisted, row_level=False) for _ in task.occurrences]

    results: list[Sample | Problem] = []
    seen: set[str] = set()
    for occurrence in task.occurrences:
        if occurrence.gbifid in seen:
            duplicate = InputError(task.csv_path, "duplicate gbifid", record=occurrence.record)
            results.append(Problem(duplicate, row_level=False))
            continue
        seen.add(occurrence.gbifid)
        files = found.get(occurrence.gbifid)
        if not files:
            missing = InputError(
                task.csv_path,
                f"no images in {IMAGES_FOLDER}/{occurrence.folder}",
                record=occurrence.record,
            )
            results.append(Problem(missing, row_level=True))
            continue
        try:
            patches = _series(folder, occurrence.gbifid, files)
        except InputError as error:
            results.append(Problem(error, row_level=False))
            continue
        footprint = patch_footprint(occurrence.longitude, occurrence.latitude)
        results.append(Sample(occurrence, patches, footprint))
    return results


def _series(folder: str, gbifid: str, files: list[tuple[str, int, int, str]]) -> tuple[Patch, ...]:
    """The twelve consecutive months of RGB and IR0 patches of one occurrence, checked.

    Raises:
        InputError: A month missing, a duplicate or stray month, or a bad PNG, naming the file.
    """
    by_key: dict[tuple[str, int], str] = {}
    for kind, year, month, name in sorted(files):
        if not 1 <= month <= 12:
            raise InputError(f"{folder}/{name}", f"month {month:02d} is not a month")
        key = (kind, year * 12 + month - 1)
        if key in by_key:
            raise InputError(f"{folder}/{name}", f"same month as {by_key[key]}")
        by_key[key] = name
    first = min(month for _, month in by_key)
    window = range(first, first + MONTHS)
    for (_, month), name in by_key.items():
        if month not in window:
            raise InputError(
                f"{folder}/{name}",
                f"outside the twelve months {_month(window[0])} to {_month(window[-1])} "
                f"of gbifid {gbifid}",
            )
    patches: list[Patch] = []
    for month in window:
        year, month0 = divmod(month, 12)
        for kind in KINDS:
            found = by_key.get((kind, month))
            if found is None:
                expected = f"{kind}_{year}_{month0 + 1:02d}_{gbifid}_.png"
                raise InputError(
                    f"{folder}/{expected}",
                    f"missing: gbifid {gbifid} has no {kind} patch for {_month(month)}",
                )
            name = found
            patches.append(
                Patch(kind, year, month0 + 1, name, _check_png(f"{folder}/{name}", kind))
            )
    return tuple(patches)


def _check_png(path: str, kind: str) -> int:
    """Checks a patch's header (64 x 64 px, 16 bits, 3 or 1 channels); returns its bytes."""
    try:
        header = read_png_header(path)
    except ValueError as error:
        raise InputError(path, str(error)) from None
    except OSError as error:
        raise InputError(path, f"unreadable ({error.strerror})") from None
    if (header.width, header.height) != (PATCH_PIXELS, PATCH_PIXELS):
        raise InputError(
            path, f"{header.width} x {header.height} px, expected {PATCH_PIXELS} x {PATCH_PIXELS}"
        )
    if header.bit_depth != BIT_DEPTH:
        raise InputError(path, f"{header.bit_depth}-bit samples, expected {BIT_DEPTH}-bit")
    if header.channels != CHANNELS[kind]:
        raise InputError(
            path,
            f"{header.channels} channel(s) (PNG colour type {header.colour_type}), "
            f"expected {CHANNELS[kind]} for {kind}",
        )
    return header.size


def _month(months: int) -> str:
    year, month0 = divmod(months, 12)
    return f"{year}-{month0 + 1:02d}"


def _columns(path: Path, header: list[str] | None) -> dict[str, int]:
    """Positions of the needed columns, found by name (case and spaces ignored)."""
    if header is None:
        raise InputError(path, "empty file")
    positions = {name.strip().lower(): i for i, name in enumerate(header)}
    columns: dict[str, int] = {}
    for name in CSV_COLUMNS:
        if name.lower() not in positions:
            raise InputError(path, f"no column {name!r} (separator ';')", record="line 1")
        columns[name] = positions[name.lower()]
    return columns


def _occurrence(
    path: Path, line: int, row: list[str], columns: dict[str, int]
) -> Occurrence | InputError:
    """Checks one row; a bad value gives the error that names the row and its gbifid."""
    values = {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}
    gbifid = values["gbifid"]
    record = f"line {line}, gbifid {gbifid or '?'}"
    try:
        gbifid = _integer(gbifid)
    except ValueError:
        return InputError(path, f"gbifid {values['gbifid']!r} is not a number", record=record)
    try:
        latitude = float(values["decimallatitude"])
        longitude = float(values["decimallongitude"])
    except ValueError:
        return InputError(path, "coordinates are not numbers", record=record)
    if not (-90.0 <= latitude <= 90.0) or math.isnan(latitude):
        return InputError(path, f"latitude {latitude} out of range", record=record)
    if not (-180.0 <= longitude <= 180.0) or math.isnan(longitude):
        return InputError(path, f"longitude {longitude} out of range", record=record)
    try:
        species_key = int(_integer(values["speciesKey"]))
    except ValueError:
        return InputError(
            path, f"speciesKey {values['speciesKey']!r} is not a number", record=record
        )
    try:
        cell_index = _integer(values["cell_index"])
    except ValueError:
        return InputError(
            path, f"cell_index {values['cell_index']!r} is not a number", record=record
        )
    if not values["canonical_name"]:
        return InputError(path, "no canonical_name", record=record)
    return Occurrence(
        line=line,
        gbifid=gbifid,
        canonical_name=values["canonical_name"],
        latitude=latitude,
        longitude=longitude,
        species_key=species_key,
        cell_index=cell_index,
        bot_country=_code(values["bot_country"]),
        bot_code=_code(values["bot_code"]),
        lvl2_code=_code(values["lvl2_code"]),
        continent_code=_code(values["continent_code"]),
    )


def _integer(text: str) -> str:
    """An integer's digits, also from pandas' float spelling (``12.0``).

    Raises:
        ValueError: ``text`` is not a non-negative integer.
    """
    text = text.strip()
    if text.isdigit():
        return str(int(text))
    number = float(text)
    if not number.is_integer() or number < 0:
        raise ValueError(text)
    return str(int(number))


def _code(text: str) -> str | None:
    """A WGSRPD code or name; None where missing; ``12.0`` (pandas' float spelling) as ``12``."""
    if text.lower() in _MISSING:
        return None
    try:
        return _integer(text)
    except ValueError:
        return text
