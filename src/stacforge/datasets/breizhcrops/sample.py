"""Writes a BreizhCrops root as the package lays it out, with made-up parcels.

Real bytes in the native formats: ESRI shapefiles (Lambert-93) written through GDAL, HDF5 files
with one dataset per parcel written with h5py, the ``;``-separated ``codes.csv`` (rows of the
real file), ``classmapping.csv`` and index CSVs as pandas writes them (an unnamed row-index
column first), and raw per-parcel CSVs. Index rows are shuffled against the shapefile's feature
order, some parcels carry crop codes the mapping drops, and some polygons have holes or several
parts, as in the RPG.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import pyogrio
import shapely

from stacforge.datasets.breizhcrops.constants import BANDS, CLASS_MAPPING_FILE, CODES_FILE

CODES_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("BTH", "Blé tendre d'hiver", "1", "Blé tendre"),
    ("BTP", "Blé tendre de printemps", "1", "Blé tendre"),
    ("MID", "Maïs doux", "2", "Maïs grain et ensilage"),
    ("MIE", "Maïs ensilage", "2", "Maïs grain et ensilage"),
    ("MIS", "Maïs", "2", "Maïs grain et ensilage"),
    ("ORH", "Orge d'hiver", "3", "Orge"),
    ("ORP", "Orge de printemps", "3", "Orge"),
    ("CZH", "Colza d'hiver", "5", "Colza"),
    ("TRN", "Tournesol", "6", "Tournesol"),
    ("J6P", "Jachère de 6 ans ou plus", "11", "Gel (surfaces gelées sans production)"),
    ("LUZ", "Autre luzerne", "16", "Fourrage"),
    ("BOP", "Bois pâturé", "17", "Estives et landes"),
    (
        "PPH",
        "Prairie permanente - herbe prédominante (ressources fourragères ligneuses absentes ou "
        "peu présentes)",
        "18",
        "Prairies permanentes",
    ),
    ("PRL", "Prairie en rotation longue (6 ans ou plus)", "18", "Prairies permanentes"),
    ("PTR", "Autre prairie temporaire de 5 ans ou moins", "19", "Prairies temporaires"),
    ("RGA", "Ray-grass de 5 ans ou moins", "19", "Prairies temporaires"),
    ("VRG", "Verger", "20", "Vergers"),
    ("NOS", "Noisette", "22", "Fruits à coque"),
    ("NOX", "Noix", "22", "Fruits à coque"),
    ("SNE", "Surface agricole temporairement non exploitée", "28", "Divers"),
)
"""Rows of the real ``codes.csv`` (RPG nomenclature)."""

CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("barley", ("ORH", "ORP")),
    ("wheat", ("BTH", "BTP")),
    ("rapeseed", ("CZH",)),
    ("corn", ("MID", "MIE", "MIS")),
    ("sunflower", ("TRN",)),
    ("orchards", ("VRG",)),
    ("nuts", ("NOS", "NOX")),
    ("permanent meadows", ("PPH", "PRL")),
    ("temporary meadows", ("PTR", "RGA")),
)
"""The BreizhCrops classes (ids in this order) and the RPG codes each groups."""
DROPPED_CODES: tuple[str, ...] = ("J6P", "LUZ", "BOP", "SNE")
"""Codes in ``codes.csv`` but not in the class mapping: their parcels are not in the catalog."""
_WEIGHTS = np.array([0.12, 0.16, 0.05, 0.2, 0.02, 0.04, 0.03, 0.18, 0.2])


@dataclass(frozen=True)
class _Region:
    name: str
    x: float
    y: float
    weight: float


# Anchors in Lambert-93 (metres) inside each region.
_REGIONS = (
    _Region("frh01", 267_810, 6_832_653, 0.25),
    _Region("frh02", 173_693, 6_818_084, 0.25),
    _Region("frh03", 354_386, 6_793_472, 0.2),
    _Region("frh04", 262_875, 6_766_156, 0.2),
    _Region("belle-ile", 233_749, 6_710_441, 0.1),
)


def write_sample(out: Path, *, count: int = 36, seed: int = 0) -> Path:
    """Writes a BreizhCrops root with ``count`` kept parcels (and a few more whose codes the
    class mapping drops): 2017, levels L1C and L2A, regions frh01-frh04 with HDF5 files, frh04
    also with raw CSVs, belle-ile with raw CSVs only.

    Returns:
        ``out``, ready to pass to ``stacforge build breizhcrops``.
    """
    return write_root(out, count=count, seed=seed)


def write_root(
    out: Path,
    *,
    count: int,
    seed: int = 0,
    year: int = 2017,
    levels: Sequence[str] = ("L1C", "L2A"),
    id_field: str = "ID",
    raw_csv: Sequence[str] = ("frh04", "belle-ile"),
    no_hdf5: Sequence[str] = ("belle-ile",),
) -> Path:
    """Writes a BreizhCrops root; see :func:`write_sample`.

    Args:
        out: Folder to write into (created if missing).
        count: Kept parcels, spread over the regions.
        seed: Same seed, same bytes.
        year: The year folder.
        levels: Level folders to write (the same parcels in each).
        id_field: The shapefile's parcel id field (``ID_PARCEL`` as in the 2018 RPG: text).
        raw_csv: Regions that also get raw per-parcel CSVs.
        no_hdf5: Regions without an HDF5 file (raw CSVs only).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    _write_codes(out / CODES_FILE)
    _write_class_mapping(out / CLASS_MAPPING_FILE)
    kept = rng.multinomial(count, [r.weight for r in _REGIONS])
    next_id = 100_000 + int(rng.integers(0, 1000)) * 1000
    for region, n in zip(_REGIONS, kept, strict=True):
        dropped = max(1, int(n) // 5)
        parcels = _parcels(region, int(n), dropped, next_id, rng)
        next_id += len(parcels) + 17
        _write_shapefile(out / str(year) / f"{region.name}.shp", parcels, id_field)
        for level in levels:
            folder = out / str(year) / level
            _write_level(
                folder,
                region.name,
                parcels,
                year,
                level,
                rng,
                hdf5=region.name not in no_hdf5,
                raw=region.name in raw_csv,
            )
    return out


@dataclass(frozen=True)
class _Parcel:
    parcel_id: int
    code: str
    polygon: shapely.Geometry


def _parcels(
    region: _Region, kept: int, dropped: int, first_id: int, rng: np.random.Generator
) -> list[_Parcel]:
    """``kept`` parcels with mapped codes and ``dropped`` with others, scattered over 20 km."""
    codes = [rng.choice(CLASSES[int(k)][1]) for k in rng.choice(len(CLASSES), kept, p=_WEIGHTS)]
    codes += [str(rng.choice(DROPPED_CODES)) for _ in range(dropped)]
    parcels = []
    for k, code in enumerate(codes):
        x = region.x + float(rng.uniform(-10_000, 10_000))
        y = region.y + float(rng.uniform(-10_000, 10_000))
        parcels.append(_Parcel(first_id + k, str(code), _polygon(x, y, k, rng)))
    return parcels


def _polygon(x: float, y: float, k: int, rng: np.random.Generator) -> shapely.Geometry:
    """A field of 1-6 ha: an irregular pentagon; every 5th with a hole (a copse), every 7th in
    two parts (split by a road)."""
    width, height = rng.uniform(100, 300, size=2)
    jitter = rng.uniform(-15, 15, size=(5, 2))
    corners = np.array(
        [[0, 0], [width, 0], [width, height * 0.6], [width * 0.5, height], [0, height]]
    )
    shell = [(x + cx + jx, y + cy + jy) for (cx, cy), (jx, jy) in zip(corners, jitter, strict=True)]
    holes = []
    if k % 5 == 4:
        cx, cy = x + width * 0.4, y + height * 0.4
        holes.append([(cx, cy), (cx + 20, cy), (cx + 20, cy + 20), (cx, cy + 20)])
    polygon = shapely.Polygon(shell, holes)
    if k % 7 == 6:
        second = shapely.box(x, y - 60, x + width, y - 20)
        return shapely.MultiPolygon([polygon, second])
    return polygon


def _write_codes(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        rows = csv.writer(f, delimiter=";", lineterminator="\n")
        rows.writerow(
            ["Code Culture", "Libellé Culture", "Code Groupe Culture", "Libellé Groupe Culture"]
        )
        rows.writerows(CODES_ROWS)


def _write_class_mapping(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        rows = csv.writer(f, lineterminator="\n")
        rows.writerow(["", "id", "classname", "code"])
        n = 0
        for class_id, (name, codes) in enumerate(CLASSES):
            for code in codes:
                rows.writerow([n, class_id, name, code])
                n += 1


def _write_shapefile(path: Path, parcels: list[_Parcel], id_field: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = np.array([p.parcel_id for p in parcels], dtype=np.int64)
    pyogrio.raw.write(
        path,
        shapely.to_wkb(np.array([p.polygon for p in parcels], dtype=object)),
        [ids if id_field == "ID" else ids.astype(str).astype(object),
         np.array([p.code for p in parcels], dtype=object)],
        [id_field, "CODE_CULTU"],
        geometry_type="MultiPolygon",
        crs="EPSG:2154",
        encoding="UTF-8",
        layer_options={"DBF_DATE_LAST_UPDATE": "2018-01-01"},
    )  # fmt: skip


def _write_level(
    folder: Path,
    region: str,
    parcels: list[_Parcel],
    year: int,
    level: str,
    rng: np.random.Generator,
    *,
    hdf5: bool,
    raw: bool,
) -> None:
    """The index, HDF5 file and raw CSVs of one region and level; index rows shuffled."""
    folder.mkdir(parents=True, exist_ok=True)
    mapping = {code: (k, name) for k, (name, codes) in enumerate(CLASSES) for code in codes}
    bands = BANDS[level]
    cloud_band = "QA60" if level == "L1C" else "CLD"
    index = io.StringIO()
    rows = csv.writer(index, lineterminator="\n")
    rows.writerow(
        ["", "idx", "id", "CODE_CULTU", "path", "meanCLD", "sequencelength", "classid",
         "classname", "region"]
    )  # fmt: skip
    raw_folder = folder / region / "csv"
    h5 = h5py.File(folder / f"{region}.h5", "w", track_order=True) if hdf5 else None
    try:
        for n, k in enumerate(rng.permutation(len(parcels))):
            parcel = parcels[int(k)]
            key = f"breizhcrops_dataset/{year}/{level}/{region}/csv/{parcel.parcel_id}.csv"
            series, dates = _series(year, level, rng)
            if h5 is not None:
                h5.create_dataset(key, data=series)
            if raw:
                _write_raw_csv(raw_folder / f"{parcel.parcel_id}.csv", series, dates, level, parcel)
            class_id, name = mapping.get(parcel.code, ("", ""))
            mean_cloud = float(series[:, bands.index(cloud_band)].mean())
            rows.writerow(
                [n, n + 1, parcel.parcel_id, parcel.code, key, repr(round(mean_cloud, 6)),
                 len(series), class_id, name, region]
            )  # fmt: skip
    finally:
        if h5 is not None:
            h5.close()
    (folder / f"{region}.csv").write_text(index.getvalue(), encoding="utf-8")


def _series(year: int, level: str, rng: np.random.Generator) -> tuple[np.ndarray, list[date]]:
    """A parcel's time series in the package's column order, and its dates."""
    bands = BANDS[level]
    steps = int(rng.integers(20, 60))
    days = np.sort(rng.choice(365, size=steps, replace=False))
    dates = [date(year, 1, 1) + timedelta(days=int(d)) for d in days]
    series = rng.uniform(100, 6000, size=(steps, len(bands)))
    series[:, bands.index("doa")] = [
        datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1e9 for d in dates
    ]
    if level == "L1C":
        series[:, bands.index("QA60")] = rng.choice([0.0] * 6 + [1024.0, 2048.0], size=steps)
        series[:, bands.index("QA10")] = 0.0
        series[:, bands.index("QA20")] = 0.0
    else:
        series[:, bands.index("CLD")] = rng.integers(0, 100, size=steps)
        series[:, bands.index("EDG")] = 0.0
        series[:, bands.index("SAT")] = 0.0
    return series.round(1), dates


def _write_raw_csv(
    path: Path, series: np.ndarray, dates: list[date], level: str, parcel: _Parcel
) -> None:
    """A raw per-parcel CSV as Earth Engine exports them: an unnamed row index, the bands in
    alphabetical order, ``doa`` as a date, the crop code and the parcel id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bands = BANDS[level]
    columns = sorted(b for b in bands if b != "doa")
    code_column = "label" if level == "L1C" else "code_cultu"
    with path.open("w", encoding="utf-8", newline="") as f:
        rows = csv.writer(f, lineterminator="\n")
        rows.writerow(["", *columns, "doa", code_column, "id"])
        for t, day in enumerate(dates):
            values = [repr(float(series[t, bands.index(b)])) for b in columns]
            rows.writerow([t, *values, day.isoformat(), parcel.code, parcel.parcel_id])
