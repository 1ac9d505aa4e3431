"""Reads the corpus' consolidated resource files into one record per sample location."""

from __future__ import annotations

import csv
import gzip
import io
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
import shapely.geometry

from stacforge.datasets.rapidai4eo.constants import (
    GEOMETRIES_FILE,
    LABEL_MAPPINGS_FILE,
    LABELS_FILE,
    SAMPLE_ID,
)
from stacforge.errors import InputError

_GZIP_MAGIC = b"\x1f\x8b"
_MAPPING_COLUMNS = ["index", "clc_level1_id", "clc_level2_id", "clc_level3_id", "class_name"]


@dataclass(frozen=True, slots=True)
class LabelClass:
    """One CORINE Land Cover class, as listed in the label mappings file."""

    key: str
    level1: int
    level2: int
    level3: int
    name: str


@dataclass(frozen=True, slots=True)
class Location:
    """One sample location: its footprint and its label shares (non-zero classes only)."""

    sample_id: str
    zone: str
    tile: str
    geometry: dict[str, Any]
    bbox: tuple[float, float, float, float]
    shares: dict[str, float]


def read_label_classes(source: Path) -> list[LabelClass]:
    """Reads ``rapidai4eo_label_mappings.csv``.

    Raises:
        InputError: The file is missing or a row is malformed.
    """
    path = _require(source / LABEL_MAPPINGS_FILE)
    classes: list[LabelClass] = []
    with path.open(newline="", encoding="utf-8-sig") as f:  # a BOM is not part of a name
        rows = csv.reader(f)
        header = [name.strip() for name in next(rows, [])]
        if header != _MAPPING_COLUMNS:
            raise InputError(
                path, f"expected columns {', '.join(_MAPPING_COLUMNS)}", record="line 1"
            )
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            try:
                key, level1, level2, level3, name = (value.strip() for value in row)
                classes.append(LabelClass(key, int(level1), int(level2), int(level3), name))
            except ValueError:
                raise InputError(path, f"malformed row {row!r}", record=f"line {line}") from None
    if not classes:
        raise InputError(path, "no label classes")
    return classes


def read_locations(
    source: Path,
    classes: list[LabelClass],
    *,
    invalid: Callable[[InputError], None],
) -> Iterator[Location]:
    """Joins the geometries and labels files, yielding locations in labels-file order.

    Only the footprints are held in memory (as WKB, ~100 bytes a location); label rows stream.

    Args:
        source: Folder holding the three resource files.
        classes: The label classes (see :func:`read_label_classes`); the labels file must have
            exactly these columns.
        invalid: Called with the error for each bad sample (see
            :meth:`stacforge.datasets.BuildOptions.invalid`: it raises, or reports and skips).

    Raises:
        InputError: A file is missing, not gzip or malformed; or what ``invalid`` raises.
    """
    geometries_path = _require(source / GEOMETRIES_FILE)
    sample_ids, footprints = _read_footprints(geometries_path)
    index: dict[str, int] = {}
    for i, sample_id in enumerate(sample_ids):
        if index.setdefault(sample_id, i) != i:
            raise InputError(geometries_path, "duplicate feature", record=f"sample_id {sample_id}")
    joined = np.zeros(len(sample_ids), dtype=bool)

    labels_path = _require(source / LABELS_FILE)
    keys = [c.key for c in classes]
    with _open_gzip_text(labels_path) as f:
        rows = csv.reader(f)
        line = 1
        try:
            header = next(rows, None)
            if header is None or header[0].strip() != "sample_id":
                raise InputError(labels_path, "first column must be sample_id", record="line 1")
            columns = [name.strip() for name in header[1:]]
            if unknown := sorted(set(columns) - set(keys)):
                raise InputError(
                    labels_path, f"unknown classes {', '.join(unknown)}", record="line 1"
                )
            if missing := [k for k in keys if k not in columns]:
                raise InputError(
                    labels_path, f"missing classes {', '.join(missing)}", record="line 1"
                )
            for line, row in enumerate(rows, start=2):
                if not row:
                    continue
                location = _location(labels_path, line, row, columns, index, footprints, joined)
                if isinstance(location, InputError):
                    invalid(location)
                else:
                    yield location
        except (OSError, EOFError, csv.Error) as error:  # truncated or corrupt gzip stream
            raise InputError(labels_path, f"unreadable ({error})", record=f"line {line}") from None

    for unjoined in np.flatnonzero(~joined):
        invalid(
            InputError(
                geometries_path,
                f"no row in {LABELS_FILE}",
                record=f"sample_id {sample_ids[unjoined]}",
            )
        )


def _location(
    path: Path,
    line: int,
    row: list[str],
    columns: list[str],
    index: dict[str, int],
    footprints: np.ndarray,
    joined: np.ndarray,
) -> Location | InputError:
    """Builds one location from a labels row, or the error that rules it out."""
    record = f"line {line}"
    sample_id = row[0].strip()
    match = SAMPLE_ID.match(sample_id)
    if match is None:
        return InputError(path, f"bad sample id {sample_id!r}", record=record)
    if len(row) != len(columns) + 1:
        return InputError(path, f"{len(row)} fields, expected {len(columns) + 1}", record=record)
    position = index.get(sample_id)
    if position is None:
        return InputError(
            path, f"sample_id {sample_id} has no geometry in {GEOMETRIES_FILE}", record=record
        )
    if joined[position]:
        return InputError(path, f"duplicate sample_id {sample_id}", record=record)
    joined[position] = True  # its row is here: whatever else is wrong, it is reported once
    shares: dict[str, float] = {}
    for column, text in zip(columns, row[1:], strict=True):
        try:
            share = float(text)
        except ValueError:
            return InputError(path, f"{column}: {text!r} is not a number", record=record)
        if not (0.0 <= share <= 1.0) or math.isnan(share):
            return InputError(path, f"{column}: share {share} outside [0, 1]", record=record)
        if share:
            shares[column] = share
    footprint = footprints[position]
    if footprint is None or shapely.get_type_id(footprint) != 3:  # 3: Polygon
        return InputError(
            path,
            f"sample_id {sample_id}: footprint is not a valid polygon (a closed ring of at "
            "least 4 positions)",
            record=record,
        )
    if not shapely.is_valid(footprint):
        return InputError(
            path,
            f"sample_id {sample_id}: footprint is not a valid polygon "
            f"({shapely.is_valid_reason(footprint)})",
            record=record,
        )
    west, south, east, north = shapely.bounds(footprint).tolist()
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        return InputError(
            path,
            f"sample_id {sample_id}: footprint outside longitude -180..180, latitude -90..90",
            record=record,
        )
    return Location(
        sample_id=sample_id,
        zone=match["zone"],
        tile=match["tile"],
        geometry=shapely.geometry.mapping(footprint),
        bbox=(west, south, east, north),
        shares=shares,
    )


def _read_footprints(path: Path) -> tuple[list[str], np.ndarray]:
    """Reads sample ids and footprint polygons from the gzipped GeoJSON, vectorised."""
    _check_gzip(path)
    try:
        with warnings.catch_warnings():
            # GDAL warns of unclosed rings and reads them as they are: they are reported per
            # sample below, with the sample id, instead.
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _, wkb, fields = pyogrio.raw.read(
                f"/vsigzip/{path.resolve()}", columns=["sample_id"]
            )
    except Exception as error:  # pyogrio raises several GDAL-derived types
        raise InputError(path, f"not a readable GeoJSON FeatureCollection ({error})") from None
    if "sample_id" not in list(meta["fields"]):
        raise InputError(path, "features have no sample_id property")
    # A ring that is not closed or has fewer than 4 positions reads as None: that sample is
    # reported when its label row is joined, instead of the whole file failing in GEOS.
    return [str(s) for s in fields[0]], shapely.from_wkb(wkb, on_invalid="ignore")


def _require(path: Path) -> Path:
    if not path.is_file():
        raise InputError(path, "missing file")
    return path


def _check_gzip(path: Path) -> None:
    with path.open("rb") as f:
        if f.read(2) != _GZIP_MAGIC:
            raise InputError(path, "not a gzip file")


def _open_gzip_text(path: Path) -> io.TextIOWrapper:
    _check_gzip(path)
    # utf-8-sig: a byte order mark (as spreadsheet tools write) is not part of the first name.
    return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
