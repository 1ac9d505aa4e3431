"""Reads a BreizhCrops root: class tables, each region's index, parcel polygons and series keys.

A region's three files are joined on the parcel id, since the shapefile's row order is not the
index's. Memory stays flat however big a region is: the index streams row by row, and only a
compact map from parcel id to shapefile feature number (sorted ids as fixed-width bytes and
feature ids, ~20 bytes a parcel) is held while the region is read; polygons and HDF5 datasets
are read per chunk of index rows, by feature id and by key (see :func:`read_chunk`, which runs
in worker processes).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import orjson
import pyogrio
import shapely
from numpy.typing import NDArray

from stacforge.datasets.breizhcrops import constants as c
from stacforge.errors import InputError
from stacforge.geometry import reproject_to_lonlat

_ID_READ = 100_000
"""Shapefile features whose parcel ids are read at once while building the id map."""
_FLOAT_ID = re.compile(r"^(\d+)\.0*$")
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LabelClass:
    """One BreizhCrops class: its id and name, and the RPG crop codes it groups."""

    id: int
    name: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CropCode:
    """One RPG crop code from ``codes.csv``: its French label and crop group."""

    code: str
    label: str
    group_code: str | None
    group_label: str | None


@dataclass(frozen=True)
class ClassMapping:
    """``classmapping.csv``: the kept RPG codes and the class each maps to."""

    classes: tuple[LabelClass, ...]
    by_code: dict[str, LabelClass]

    @property
    def codes(self) -> list[str]:
        """Every mapped RPG code, sorted."""
        return sorted(self.by_code)


@dataclass(frozen=True, slots=True)
class RegionFiles:
    """Where one region's files are, for the chosen year and level."""

    root: Path
    """The BreizhCrops root (SOURCE)."""
    year: int
    level: str
    region: str
    index: Path
    shapefile: Path
    hdf5: Path | None
    raw_csv: Path | None
    """The folder of raw per-parcel CSVs, when present."""

    def relative(self, path: Path) -> str:
        """``path`` relative to the BreizhCrops root, with ``/``."""
        return path.relative_to(self.root).as_posix()


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One row of a region's index: a parcel and the key of its time series."""

    line: int
    parcel_id: str
    code: str
    path: str
    mean_cloud: float | None
    length: int


@dataclass(frozen=True, slots=True)
class Series:
    """Where a parcel's time series is: a raw CSV, or a dataset of the region's HDF5 file."""

    file: str
    """Relative to the BreizhCrops root, with ``/``."""
    hdf5_key: str | None
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class Parcel:
    """One kept parcel, joined across index, shapefile and time series."""

    files: RegionFiles
    row: IndexRow
    label: LabelClass
    geometry: dict[str, Any]
    bbox: tuple[float, float, float, float]
    cell: str
    series: Series


@dataclass
class RegionCounts:
    """What a region's index holds: kept parcels per class and per code, and what is dropped."""

    classes: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    """Parcels per RPG code absent from the class mapping."""
    empty: int = 0
    """Parcels with an empty time series (``sequencelength`` 0), dropped as the package does."""


@dataclass(frozen=True)
class Chunk:
    """Index rows of one region joined to their shapefile feature ids: a worker's task."""

    files: RegionFiles
    crs: str
    rows: list[tuple[IndexRow, int]]
    mapping: ClassMapping


def read_class_mapping(source: Path) -> ClassMapping:
    """Reads ``classmapping.csv`` (an unnamed row-index column, then ``id,classname,code``).

    Raises:
        InputError: The file is missing, has unknown or missing columns, or a malformed row.
    """
    path = _require(source / c.CLASS_MAPPING_FILE)
    names: dict[int, str] = {}
    codes: dict[str, int] = {}
    with _open_text(path) as f:
        rows = csv.reader(f)
        header = [name.strip() for name in next(rows, [])]
        columns = header[1:] if header and _is_row_index(header[0]) else header
        if unknown := [n for n in columns if n not in c.MAPPING_COLUMNS]:
            raise InputError(path, f"unknown columns {', '.join(unknown)}", record="line 1")
        if missing := [n for n in c.MAPPING_COLUMNS if n not in columns]:
            raise InputError(path, f"missing columns {', '.join(missing)}", record="line 1")
        at = {name: header.index(name) for name in c.MAPPING_COLUMNS}
        for line, row in enumerate(rows, start=2):
            if not any(value.strip() for value in row):
                continue
            record = f"line {line}"
            if len(row) != len(header):
                raise InputError(path, f"{len(row)} fields, expected {len(header)}", record=record)
            class_id, name, code = (row[at[n]].strip() for n in c.MAPPING_COLUMNS)
            try:
                number = int(class_id)
            except ValueError:
                raise InputError(
                    path, f"class id {class_id!r} is not an integer", record=record
                ) from None
            if not name or not code:
                raise InputError(path, "empty classname or code", record=record)
            if names.setdefault(number, name) != name:
                raise InputError(
                    path, f"class id {number} named {names[number]!r} and {name!r}", record=record
                )
            if codes.setdefault(code, number) != number:
                raise InputError(path, f"code {code} mapped to two classes", record=record)
    if not codes:
        raise InputError(path, "no classes")
    if len(set(names.values())) != len(names):
        raise InputError(path, "one classname with two class ids")
    classes = tuple(
        LabelClass(number, names[number], tuple(sorted(k for k, v in codes.items() if v == number)))
        for number in sorted(names)
    )
    by_id = {cls.id: cls for cls in classes}
    return ClassMapping(classes, {code: by_id[number] for code, number in codes.items()})


def read_crop_codes(source: Path) -> dict[str, CropCode]:
    """Reads ``codes.csv`` (``;``-separated RPG codes with French labels and groups).

    Raises:
        InputError: The file is missing or lacks the code and label columns.
    """
    path = _require(source / c.CODES_FILE)
    codes: dict[str, CropCode] = {}
    with _open_text(path) as f:
        rows = csv.reader(f, delimiter=";")
        header = [name.strip() for name in next(rows, [])]
        if header[:2] != list(c.CODES_COLUMNS[:2]):
            raise InputError(path, f"expected columns {';'.join(c.CODES_COLUMNS)}", record="line 1")
        for row in rows:
            values = [value.strip() for value in row] + ["", ""]
            if values[0]:
                codes[values[0]] = CropCode(
                    values[0], values[1], values[2] or None, values[3] or None
                )
    return codes


def find_regions(
    source: Path, year: int, level: str, wanted: tuple[str, ...] | None
) -> list[RegionFiles]:
    """The regions to build: ``wanted``, else every region with an index for ``year`` and
    ``level`` (the package's regions first, in its order, then others by name).

    Raises:
        InputError: The year or level folder, or a wanted region's index or shapefile, is
            missing; or a region has neither an HDF5 file nor raw CSVs.
    """
    folder = source / str(year) / level
    if not folder.is_dir():
        raise InputError(folder, f"missing folder (no {level} data for {year})")
    if wanted:
        names = list(dict.fromkeys(name.strip().lower() for name in wanted))
    else:
        found = sorted(p.stem for p in folder.glob("*.csv") if p.is_file())
        names = [r for r in c.REGIONS if r in found] + [r for r in found if r not in c.REGIONS]
        if not names:
            raise InputError(folder, "no region index (<region>.csv)")
    regions = []
    for name in names:
        index = _require(folder / f"{name}.csv")
        shapefile = _require(source / str(year) / f"{name}.shp")
        hdf5 = folder / f"{name}.h5"
        raw = folder / name / c.RAW_CSV_FOLDER
        files = RegionFiles(
            source,
            year,
            level,
            name,
            index,
            shapefile,
            hdf5 if hdf5.is_file() else None,
            raw if raw.is_dir() else None,
        )
        if files.hdf5 is None and files.raw_csv is None:
            raise InputError(hdf5, f"missing file (and no raw CSV folder {raw})")
        regions.append(files)
    return regions


def read_index(
    files: RegionFiles, invalid: Callable[[InputError], None] | None = None
) -> Iterator[IndexRow]:
    """Streams the rows of a region's index.

    Args:
        files: The region.
        invalid: Receives the error of each malformed row (see
            :meth:`stacforge.datasets.BuildOptions.invalid`); without it such rows are passed
            over silently.

    Raises:
        InputError: The header lacks a required column; or what ``invalid`` raises.
    """
    path = files.index
    with _open_text(path) as f:
        rows = csv.reader(f)
        header = [name.strip() for name in next(rows, [])]
        cloud = next((n for n in c.INDEX_CLOUD if n in header), None)
        required = (c.INDEX_ID, c.INDEX_CODE, c.INDEX_PATH, c.INDEX_LENGTH)
        missing = [n for n in required if n not in header]
        if missing or cloud is None:
            missing += [] if cloud else [c.INDEX_CLOUD[0]]
            raise InputError(path, f"missing columns {', '.join(missing)}", record="line 1")
        at = [header.index(n) for n in (*required, cloud)]
        width = len(header)
        for line, values in enumerate(rows, start=2):
            if not values:
                continue
            parcel_id, code, key, length, mean = (
                values[i].strip() if i < len(values) else "" for i in at
            )
            error = None
            if len(values) != width:
                error = f"{len(values)} fields, expected {width}"
            elif not parcel_id or not code or not key:
                error = "empty id, CODE_CULTU or path"
            else:
                try:
                    count = int(float(length))
                    cloudiness = float(mean) if mean else None
                except ValueError:
                    error = f"sequencelength {length!r} or {cloud} {mean!r} is not a number"
            if error is not None:
                if invalid is not None:
                    invalid(InputError(path, error, record=f"line {line}"))
                continue
            yield IndexRow(line, parcel_key(parcel_id), code, key, cloudiness, count)


def count_region(files: RegionFiles, mapping: ClassMapping) -> RegionCounts:
    """Counts a region's parcels per class and code, and those dropped (one pass, no join)."""
    counts = RegionCounts()
    for row in read_index(files):
        label = mapping.by_code.get(row.code)
        if label is None:
            counts.dropped[row.code] += 1
        elif row.length <= 0:
            counts.empty += 1
        else:
            counts.classes[label.name] += 1
            counts.codes[row.code] += 1
    return counts


def shapefile_crs(files: RegionFiles) -> str:
    """The CRS of a region's shapefile (Lambert-93 when it has no ``.prj``).

    Raises:
        InputError: The shapefile is unreadable or has no parcel id field.
    """
    info = _shapefile_info(files.shapefile)
    return str(info["crs"] or c.SOURCE_CRS)


def read_parcel_ids(files: RegionFiles) -> tuple[NDArray[np.bytes_], NDArray[np.int64]]:
    """The parcel ids of a region's shapefile, sorted, and the feature id of each.

    Read in chunks of the id column alone (no geometry, no other field).

    Raises:
        InputError: The shapefile is unreadable, has no parcel id field, or a parcel id twice
            or empty.
    """
    path = files.shapefile
    info = _shapefile_info(path)
    id_field = _id_field(path, info)
    total = int(info["features"])
    parts: list[NDArray[np.bytes_]] = []
    for start in range(0, total, _ID_READ):
        try:
            _, _, _, fields = pyogrio.raw.read(
                path, columns=[id_field], read_geometry=False, skip_features=start,
                max_features=_ID_READ,
            )  # fmt: skip
        except Exception as error:  # pyogrio raises several GDAL-derived types
            raise InputError(path, f"unreadable shapefile ({error})") from None
        parts.append(_id_keys(path, fields[0], start))
    ids = np.concatenate(parts) if parts else np.array([], dtype=np.bytes_)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    if len(ids) > 1 and (twice := np.flatnonzero(ids[1:] == ids[:-1])).size:
        twin = ids[twice[0]].decode()
        raise InputError(path, "parcel id appears twice", record=f"parcel {twin}")
    return ids, order.astype(np.int64)


def join_chunks(
    files: RegionFiles,
    mapping: ClassMapping,
    crs: str,
    size: int,
    invalid: Callable[[InputError], None],
) -> Iterator[Chunk]:
    """Streams a region's index, keeps the rows whose code the mapping keeps (and whose series
    is not empty), joins each to its shapefile feature, and groups them in chunks of ``size``.

    Raises:
        InputError: What :func:`read_parcel_ids` raises, or what ``invalid`` raises for a
            malformed row or one whose parcel is not in the shapefile.
    """
    ids, fids = read_parcel_ids(files)
    seen = np.zeros(len(ids), dtype=bool)
    rows: list[tuple[IndexRow, int]] = []
    for row in read_index(files, invalid):
        if row.code not in mapping.by_code or row.length <= 0:
            continue
        key = row.parcel_id.encode()
        where = int(np.searchsorted(ids, key))
        if where == len(ids) or ids[where] != key:
            invalid(
                InputError(
                    files.index,
                    f"parcel {row.parcel_id} has no polygon in {files.shapefile.name}",
                    record=f"line {row.line}",
                )
            )
            continue
        if seen[where]:
            invalid(
                InputError(
                    files.index, f"parcel {row.parcel_id} listed twice", record=f"line {row.line}"
                )
            )
            continue
        seen[where] = True
        rows.append((row, int(fids[where])))
        if len(rows) == size:
            yield Chunk(files, crs, rows, mapping)
            rows = []
    if rows:
        yield Chunk(files, crs, rows, mapping)


def read_chunk(chunk: Chunk) -> list[Parcel | InputError]:
    """Reads the polygons and checks the time series of one chunk's parcels (in a worker).

    Returns:
        Per row, in order, the parcel or the error that rules it out (the caller hands errors
        to :meth:`stacforge.datasets.BuildOptions.invalid`, in the parent process).

    Raises:
        InputError: The shapefile or the HDF5 file is unreadable.
    """
    files = chunk.files
    rows = chunk.rows
    polygons = _read_polygons(files.shapefile, np.array([fid for _, fid in rows], dtype=np.int64))
    checked = [
        _check_polygon(files, row, polygon)
        for (row, _), polygon in zip(rows, polygons, strict=True)
    ]
    shapes = np.array([p for p in checked if not isinstance(p, InputError)], dtype=object)
    lonlat: list[dict[str, Any]] = []
    bounds = np.empty((0, 4))
    cells: list[str] = []
    if len(shapes):
        centroids = shapely.get_coordinates(shapely.centroid(shapes))
        cells = [_grid_cell(x, y) for x, y in centroids.tolist()]
        reprojected = reproject_to_lonlat(shapes, chunk.crs)
        lonlat = [orjson.loads(text) for text in shapely.to_geojson(reprojected)]
        bounds = shapely.bounds(reprojected)
    results: list[Parcel | InputError] = []
    series = _SeriesReader(files)
    try:
        k = 0
        for (row, _), check in zip(rows, checked, strict=True):
            if isinstance(check, InputError):
                results.append(check)
                continue
            found = series.read(row)
            if isinstance(found, InputError):
                results.append(found)
            else:
                west, south, east, north = (float(v) for v in bounds[k])
                results.append(
                    Parcel(
                        files,
                        row,
                        chunk.mapping.by_code[row.code],
                        lonlat[k],
                        (west, south, east, north),
                        cells[k],
                        found,
                    )
                )
            k += 1
    finally:
        series.close()
    return results


def parcel_key(value: Any) -> str:
    """A parcel id as text, the same whether read as an integer, a float or a string."""
    if isinstance(value, float | np.floating):
        return str(int(value))
    text = str(value).strip()
    match = _FLOAT_ID.match(text)
    return match[1] if match else text


class _SeriesReader:
    """Finds each parcel's time series: the raw CSV when present, else the HDF5 dataset; the
    HDF5 dataset, when the region has the file, must exist and have one column per band."""

    def __init__(self, files: RegionFiles) -> None:
        self._files = files
        self._bands = c.BANDS[files.level]
        # Relative paths, once: pathlib's relative_to costs more than the HDF5 read per parcel.
        self._hdf5_path = files.relative(files.hdf5) if files.hdf5 is not None else ""
        self._raw_path = files.relative(files.raw_csv) if files.raw_csv is not None else ""
        self._date_column = self._bands.index(c.DATE_COLUMN)
        self._hdf5: h5py.File | None = None
        if files.hdf5 is not None:
            try:
                self._hdf5 = h5py.File(files.hdf5, "r")
            except OSError as error:
                raise InputError(files.hdf5, f"unreadable HDF5 file ({error})") from None

    def read(self, row: IndexRow) -> Series | InputError:
        record = f"parcel {row.parcel_id}"
        raw = None
        if self._files.raw_csv is not None:
            raw = self._files.raw_csv / _basename(row.path)
            if not raw.is_file():
                raw = None
        start = end = None
        if self._hdf5 is not None:
            path = self._files.hdf5
            assert path is not None
            series = self._read_hdf5(row.path)
            if series is None:
                what = "a group, not a dataset, at" if row.path in self._hdf5 else "no dataset"
                return InputError(
                    path, f"{what} {row.path!r} (index line {row.line})", record=record
                )
            shape = series.shape
            if len(shape) != 2 or shape[1] != len(self._bands):
                return InputError(
                    path,
                    f"dataset {row.path!r} has shape {shape}, expected (T, {len(self._bands)})",
                    record=record,
                )
            if shape[0]:
                dates = _nanosecond_dates(series[:, self._date_column])
                if dates is None:
                    return InputError(
                        path, f"dataset {row.path!r}: doa holds no dates", record=record
                    )
                start, end = dates
        elif raw is None:
            expected = (self._files.raw_csv or Path()) / _basename(row.path)
            return InputError(expected, "missing raw time series CSV", record=record)
        if raw is not None and self._hdf5 is None:
            dates_or_error = _csv_dates(raw, record)
            if isinstance(dates_or_error, InputError):
                return dates_or_error
            start, end = dates_or_error
        if raw is not None:
            return Series(f"{self._raw_path}/{raw.name}", None, start, end)
        return Series(self._hdf5_path, row.path, start, end)

    def _read_hdf5(self, key: str) -> NDArray[Any] | None:
        """The dataset at ``key`` (a parcel's array is small: a few kB), or None if there is no
        dataset there. h5py's low-level calls: a third of the high-level API's cost per parcel."""
        assert self._hdf5 is not None
        try:
            dataset = h5py.h5d.open(self._hdf5.id, key.encode())
        except (KeyError, ValueError, OSError):
            return None
        values = np.empty(dataset.shape, dtype=dataset.dtype)
        dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, values)
        return values

    def close(self) -> None:
        if self._hdf5 is not None:
            self._hdf5.close()


def _read_polygons(path: Path, fids: NDArray[np.int64]) -> list[shapely.Geometry | None]:
    """The polygons of the shapefile features ``fids``, in that order (None where empty)."""
    try:
        _, read_fids, wkb, _ = pyogrio.raw.read(path, fids=fids, columns=[], return_fids=True)
    except Exception as error:  # pyogrio raises several GDAL-derived types
        raise InputError(path, f"unreadable shapefile ({error})") from None
    by_fid = dict(zip(read_fids.tolist(), wkb, strict=True))
    polygons: list[shapely.Geometry | None] = []
    for fid in fids.tolist():
        data = by_fid.get(fid)
        if data is None:
            polygons.append(None)
            continue
        try:
            polygons.append(shapely.from_wkb(data))
        except shapely.errors.GEOSException as error:
            polygons.append(_InvalidWkb(str(error)))
    return polygons


class _InvalidWkb:
    """A feature whose geometry GEOS cannot even read (e.g. a ring of three points)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _check_polygon(
    files: RegionFiles, row: IndexRow, polygon: shapely.Geometry | _InvalidWkb | None
) -> shapely.Geometry | InputError:
    record = f"parcel {row.parcel_id}"
    if isinstance(polygon, _InvalidWkb):
        return InputError(files.shapefile, f"invalid ring ({polygon.reason})", record=record)
    if polygon is None or polygon.is_empty:
        return InputError(files.shapefile, "no geometry", record=record)
    if polygon.geom_type not in ("Polygon", "MultiPolygon"):
        return InputError(files.shapefile, f"a {polygon.geom_type}, not a polygon", record=record)
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        return InputError(files.shapefile, f"invalid ring ({reason})", record=record)
    return polygon


def _grid_cell(x: float, y: float) -> str:
    """The 10 km grid cell of a point in the source CRS, named by its south-west corner in km."""
    size = c.GRID_CELL
    east, north = int(x // size) * size // 1000, int(y // size) * size // 1000
    return f"e{east:04d}n{north:04d}"


def _nanosecond_dates(values: NDArray[Any]) -> tuple[datetime, datetime] | None:
    """First and last date of a ``doa`` column in nanoseconds since 1970, if they are dates."""
    numbers = np.asarray(values, dtype=np.float64)
    if not np.isfinite(numbers).all():
        return None
    first, last = (datetime.fromtimestamp(v / 1e9, UTC) for v in (numbers.min(), numbers.max()))
    if first < _EARLIEST or last > _LATEST:
        return None
    return first, last


def _csv_dates(path: Path, record: str) -> tuple[datetime | None, datetime | None] | InputError:
    """First and last date of a raw per-parcel CSV's ``doa`` column."""
    try:
        with _open_text(path) as f:
            rows = csv.reader(f)
            header = [name.strip() for name in next(rows, [])]
            if c.DATE_COLUMN not in header:
                return InputError(path, "no doa column", record=record)
            at = header.index(c.DATE_COLUMN)
            dates = [
                datetime.fromisoformat(row[at].strip()[:10]).replace(tzinfo=UTC)
                for row in rows
                if len(row) > at and row[at].strip()
            ]
    except (ValueError, OSError, csv.Error) as error:
        return InputError(path, f"unreadable time series ({error})", record=record)
    return (min(dates), max(dates)) if dates else (None, None)


def _shapefile_info(path: Path) -> dict[str, Any]:
    try:
        info: dict[str, Any] = pyogrio.read_info(path)
    except Exception as error:  # pyogrio raises several GDAL-derived types
        raise InputError(path, f"unreadable shapefile ({error})") from None
    _id_field(path, info)
    return info


def _id_field(path: Path, info: dict[str, Any]) -> str:
    fields = {str(name).upper(): str(name) for name in info["fields"]}
    for name in c.PARCEL_ID_FIELDS:
        if name in fields:
            return fields[name]
    raise InputError(path, f"no parcel id field ({' or '.join(c.PARCEL_ID_FIELDS)})")


def _id_keys(path: Path, values: NDArray[Any], first: int) -> NDArray[np.bytes_]:
    """Parcel ids of a read chunk as UTF-8 keys (see :func:`parcel_key`): fixed-width bytes,
    about 10 a parcel, rather than Python strings (~60)."""
    if values.dtype.kind in "iu":
        keys: NDArray[np.bytes_] = values.astype(np.bytes_)
        return keys
    texts = [None if v is None else parcel_key(v) for v in values.tolist()]
    for k, text in enumerate(texts):
        if not text or text == "nan":
            raise InputError(path, "empty parcel id", record=f"feature {first + k}")
    return np.array([str(text).encode() for text in texts], dtype=np.bytes_)


def _basename(key: str) -> str:
    return key.replace("\\", "/").rsplit("/", 1)[-1]


def _is_row_index(name: str) -> bool:
    """Whether a header cell names the row index pandas writes first (empty or ``Unnamed: 0``)."""
    return not name or name.startswith("Unnamed")


def _require(path: Path) -> Path:
    if not path.is_file():
        raise InputError(path, "missing file")
    return path


def _open_text(path: Path) -> Any:
    """Opens a CSV as text: UTF-8 (with or without a byte-order mark), else Latin-1."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    try:
        head.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as error:
        # A cut multi-byte character at the end of the sample is still UTF-8.
        encoding = "utf-8-sig" if error.start >= len(head) - 3 else "latin-1"
    return path.open(encoding=encoding, newline="")
