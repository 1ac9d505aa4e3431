"""Writes DeepOrchidSeries-shaped input: the occurrences CSV, ``index.json`` and real 16-bit
PNG patch series in the published folder tree, for made-up occurrences.

Occurrences sit in both hemispheres and on both sides of the antimeridian (Fiji, Chukotka);
several share a leaf image folder (same last four gbifid digits) and some share a geographic
block (``cell_index``), as in the published data. Series start in different months, some
crossing a year boundary.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stacforge.datasets.deeporchidseries.constants import (
    CLASS_INDEX_FILE,
    CSV_COLUMNS,
    CSV_DELIMITER,
    CSV_FILE,
    IMAGES_FOLDER,
    MONTHS,
    PATCH_PIXELS,
)
from stacforge.datasets.deeporchidseries.png import encode_png

BLOCK_DEGREES = 0.0025
"""The dataset's ``cell_index`` grid."""


@dataclass(frozen=True)
class _Place:
    """A WGSRPD botanical country and a point in it."""

    longitude: float
    latitude: float
    continent: str
    region: str
    code: str
    country: str


_PLACES = (
    _Place(3.87, 43.61, "1", "12", "FRA", "France"),
    _Place(179.9992, -16.80, "6", "60", "FIJ", "Fiji"),  # east of the antimeridian
    _Place(-179.9992, -16.75, "6", "60", "FIJ", "Fiji"),  # west of it
    _Place(47.52, -18.91, "2", "29", "MDG", "Madagascar"),
    _Place(-75.57, 6.24, "8", "83", "CLM", "Colombia"),
    _Place(-179.999, 65.80, "3", "31", "CHT", "Chukotka"),
    _Place(145.75, -16.92, "5", "50", "QLD", "Queensland"),
    _Place(-81.30, 25.90, "7", "78", "FLA", "Florida"),
    _Place(98.98, 18.79, "4", "41", "THA", "Thailand"),
    _Place(-78.50, -0.20, "8", "83", "ECU", "Ecuador"),
)
_SPECIES = (
    "Ophrys apifera",
    "Dactylorhiza maculata",
    "Anacamptis pyramidalis",
    "Epipactis helleborine",
    "Cymbidium canaliculatum",
    "Dendrobium mohlianum",
    "Vanilla planifolia",
    "Angraecum sesquipedale",
)
_STARTS = ((2018, 1), (2017, 10), (2018, 3))
_FOLDERS = 6  # leaf image folders the occurrences share


def write_sample(out: Path, *, count: int = 36, seed: int = 0) -> Path:
    """Writes ``DeepOrchidSeries.csv``, ``index.json`` and 24 PNGs per occurrence.

    Args:
        out: Folder to write into (created if missing).
        count: How many occurrences.
        seed: Seed of the layout and pixels; equal seeds give equal files.

    Returns:
        ``out``, ready to pass to ``stacforge build deeporchidseries``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    species_keys = sorted(int(k) for k in rng.choice(9_000_000, len(_SPECIES), replace=False))
    endings = [int(e) for e in rng.choice(10_000, _FOLDERS, replace=False)]
    rows: list[list[object]] = []
    for i in range(count):
        place = _PLACES[i % len(_PLACES)]
        jitter = rng.uniform(-0.05, 0.05, 2)
        # Points at the antimeridian stay within 100 m of it, so their patches cross it.
        longitude = place.longitude + (float(jitter[0]) if abs(place.longitude) < 179 else 0.0)
        latitude = place.latitude + float(jitter[1])
        if i >= len(_PLACES) and i % 3 == 0:  # a neighbour in an earlier occurrence's block
            earlier = rows[i - len(_PLACES)]
            latitude, longitude = float(str(earlier[2])), float(str(earlier[3]))
            longitude += 0.0001 if longitude < 0 else -0.0001
        gbifid = int(rng.integers(100_000, 4_000_000)) * 10_000 + endings[i % _FOLDERS]
        species = int(rng.integers(len(_SPECIES)))
        rows.append(
            [
                gbifid,
                _SPECIES[species],
                round(latitude, 6),
                round(longitude, 6),
                species_keys[species],
                _cell_index(longitude, latitude),
                place.country,
                place.code,
                place.region,
                place.continent,
            ]
        )
    with (out / CSV_FILE).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=CSV_DELIMITER, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    index = {str(i): key for i, key in enumerate(rng.permutation(species_keys).tolist())}
    (out / CLASS_INDEX_FILE).write_text(json.dumps(index), encoding="utf-8")

    for n, row in enumerate(rows):
        write_series(out, str(row[0]), _STARTS[n % len(_STARTS)], rng)
    return out


def write_series(
    source: Path, gbifid: str, start: tuple[int, int], rng: np.random.Generator
) -> list[Path]:
    """Writes the twelve monthly RGB and IR0 PNGs of one occurrence from ``start`` (year,
    month) into its folder; returns their paths."""
    folder = source / IMAGES_FOLDER / gbifid[-2:] / gbifid[-4:-2]
    folder.mkdir(parents=True, exist_ok=True)
    year, month = start
    paths = []
    for step in range(MONTHS):
        y, m0 = divmod(year * 12 + month - 1 + step, 12)
        for kind, colour_type, channels in (("RGB", 2, 3), ("IR0", 0, 1)):
            path = folder / f"{kind}_{y}_{m0 + 1:02d}_{gbifid}_.png"
            path.write_bytes(patch_png(rng, channels, colour_type))
            paths.append(path)
    return paths


def patch_png(rng: np.random.Generator, channels: int, colour_type: int) -> bytes:
    """A 64 x 64 16-bit PNG of smooth reflectance-like values (digital numbers 300-3,000)."""
    ramp = np.linspace(0.0, 1.0, PATCH_PIXELS)
    field = np.add.outer(ramp, ramp)[:, :, None] * rng.uniform(300, 1200, channels)
    noise = rng.normal(0.0, 30.0, (PATCH_PIXELS, PATCH_PIXELS, channels))
    pixels = np.clip(field + noise + 300.0, 0, 65535).astype(">u2")
    return encode_png(
        pixels.tobytes(),
        width=PATCH_PIXELS,
        height=PATCH_PIXELS,
        bit_depth=16,
        colour_type=colour_type,
    )


def _cell_index(longitude: float, latitude: float) -> int:
    row = math.floor((latitude + 90.0) / BLOCK_DEGREES)
    column = math.floor((longitude + 180.0) / BLOCK_DEGREES)
    return row * round(360 / BLOCK_DEGREES) + column
