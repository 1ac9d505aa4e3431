"""Writes RapidAI4EO-shaped resource files: the corpus' own formats, with made-up locations.

The three files are those the corpus tutorial downloads (gzipped GeoJSON footprints, gzipped
label-share CSV, label mappings CSV). Footprints are true 600 m squares on the corpus' 24 km UTM
tile grid, so sample ids, tiles and geometries agree the way they do in the real corpus.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from pyproj import Transformer

from stacforge.datasets.rapidai4eo.constants import (
    GEOMETRIES_FILE,
    LABEL_MAPPINGS_FILE,
    LABELS_FILE,
)

CHIP = 600  # metres: one sample footprint
TILE = 24_000  # metres: one Planet Fusion grid tile, 40 x 40 chips
CHIPS_PER_SIDE = TILE // CHIP

CLC_CLASSES: tuple[tuple[int, str], ...] = (
    (111, "Continuous urban fabric"),
    (112, "Discontinuous urban fabric"),
    (121, "Industrial or commercial units"),
    (122, "Road and rail networks and associated land"),
    (123, "Port areas"),
    (124, "Airports"),
    (131, "Mineral extraction sites"),
    (132, "Dump sites"),
    (133, "Construction sites"),
    (141, "Green urban areas"),
    (142, "Sport and leisure facilities"),
    (211, "Non-irrigated arable land"),
    (212, "Permanently irrigated land"),
    (213, "Rice fields"),
    (221, "Vineyards"),
    (222, "Fruit trees and berry plantations"),
    (223, "Olive groves"),
    (231, "Pastures"),
    (241, "Annual crops associated with permanent crops"),
    (242, "Complex cultivation patterns"),
    (243, "Land principally occupied by agriculture with significant areas of natural vegetation"),
    (244, "Agro-forestry areas"),
    (311, "Broad-leaved forest"),
    (312, "Coniferous forest"),
    (313, "Mixed forest"),
    (321, "Natural grasslands"),
    (322, "Moors and heathland"),
    (323, "Sclerophyllous vegetation"),
    (324, "Transitional woodland-shrub"),
    (331, "Beaches dunes sands"),
    (332, "Bare rocks"),
    (333, "Sparsely vegetated areas"),
    (334, "Burnt areas"),
    (335, "Glaciers and perpetual snow"),
    (411, "Inland marshes"),
    (412, "Peat bogs"),
    (421, "Salt marshes"),
    (422, "Salines"),
    (423, "Intertidal flats"),
    (511, "Water courses"),
    (512, "Water bodies"),
    (521, "Coastal lagoons"),
    (522, "Estuaries"),
    (523, "Sea and ocean"),
    (999, "NODATA"),
)
CLASS_KEYS = tuple(f"clc_{code}" for code, _ in CLC_CLASSES)
FOREST = ("clc_311", "clc_312", "clc_313")


@dataclass(frozen=True)
class _Region:
    """Where a share of the sample locations falls: a UTM zone around an anchor point."""

    zone: int
    lon: float
    lat: float
    weight: float


# Berlin first and heaviest: the tutorial's example query is a box around Berlin.
_REGIONS = (
    _Region(33, 13.40, 52.52, 0.40),  # Berlin
    _Region(32, 11.00, 50.50, 0.20),  # Thuringia / Bavaria
    _Region(35, 26.30, 63.30, 0.15),  # Finland, as in the tutorial's first rows
    _Region(31, 2.35, 48.85, 0.15),  # Paris
    _Region(30, -3.70, 40.42, 0.10),  # Madrid
)


def write_sample(directory: str | Path, *, count: int = 120, seed: int = 0) -> Path:
    """Writes the three RapidAI4EO resource files for ``count`` made-up sample locations.

    Args:
        directory: Folder to write into (created if missing).
        count: How many sample locations.
        seed: Seed of the random layout and label shares; equal seeds give equal files.

    Returns:
        ``directory``, ready to pass to ``stacforge build rapidai4eo``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(count, [r.weight for r in _REGIONS])
    features: list[dict[str, object]] = []
    sample_ids: list[str] = []
    for region, n in zip(_REGIONS, counts, strict=True):
        for sample_id, ring in _region_footprints(region, int(n), rng):
            sample_ids.append(sample_id)
            features.append(
                {
                    "type": "Feature",
                    "properties": {"sample_id": sample_id},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    collection = {"type": "FeatureCollection", "features": features}
    (out / GEOMETRIES_FILE).write_bytes(gzip.compress(orjson.dumps(collection), mtime=0))

    order = rng.permutation(len(sample_ids))  # the corpus' files are not in the same order
    text = io.StringIO()
    rows = csv.writer(text, lineterminator="\n")
    rows.writerow(["sample_id", *CLASS_KEYS])
    for i in order:
        shares = _shares(rng)
        rows.writerow([sample_ids[i], *(_format_share(shares.get(k, 0.0)) for k in CLASS_KEYS)])
    (out / LABELS_FILE).write_bytes(gzip.compress(text.getvalue().encode(), mtime=0))

    with (out / LABEL_MAPPINGS_FILE).open("w", newline="", encoding="utf-8") as f:
        mappings = csv.writer(f, lineterminator="\n")
        mappings.writerow(
            ["index", "clc_level1_id", "clc_level2_id", "clc_level3_id", "class_name"]
        )
        for code, name in CLC_CLASSES:
            mappings.writerow([f"clc_{code}", code // 100, code // 10, code, name])
    return out


def _region_footprints(
    region: _Region, n: int, rng: np.random.Generator
) -> list[tuple[str, list[list[float]]]]:
    """``n`` distinct chips on the tile grid around the region's anchor, as lon/lat rings."""
    if n == 0:
        return []
    epsg = 32600 + region.zone
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    to_lonlat = Transformer.from_crs(epsg, 4326, always_xy=True)
    x, y = to_utm.transform(region.lon, region.lat)
    # A square block of tiles around the anchor, a quarter full, so density stays plausible.
    side = max(2, math.ceil(math.sqrt(4 * n / CHIPS_PER_SIDE**2)))
    tile_e0 = int(x // TILE) - side // 2
    tile_n0 = int(y // TILE) - side // 2
    slots = rng.choice(side * side * CHIPS_PER_SIDE**2, size=n, replace=False)
    tile, chip = np.divmod(slots, CHIPS_PER_SIDE**2)
    tile_e = tile_e0 + tile % side
    tile_n = tile_n0 + tile // side
    row, col = np.divmod(chip, CHIPS_PER_SIDE)
    west = tile_e * TILE + col * CHIP
    north = (tile_n + 1) * TILE - row * CHIP
    corners_x = np.stack([west, west, west + CHIP, west + CHIP, west], axis=1).astype(float)
    corners_y = np.stack([north, north - CHIP, north - CHIP, north, north], axis=1).astype(float)
    lon, lat = to_lonlat.transform(corners_x, corners_y)
    zone = f"{region.zone}N"
    return [
        (
            f"{zone}_{tile_e[i]}E-{tile_n[i]}N_{row[i]:02d}_{col[i]:02d}",
            [[float(lon[i, k]), float(lat[i, k])] for k in range(5)],
        )
        for i in range(n)
    ]


def _shares(rng: np.random.Generator) -> dict[str, float]:
    """Label shares of one location: mostly mixed land cover, some pure forest or peat bog."""
    kind = rng.random()
    if kind < 0.10:  # entirely forest (CLC level 2 class 31), shares that sum to exactly 1
        parts = rng.choice([(1.0, 0.0, 0.0), (0.5, 0.25, 0.25), (0.0, 0.75, 0.25)])
        return {k: float(v) for k, v in zip(FOREST, parts, strict=True) if v}
    if kind < 0.18:  # mostly peat bog
        bog = float(rng.uniform(0.8, 1.0))
        return {"clc_412": bog, "clc_512": 1.0 - bog} if bog < 1.0 else {"clc_412": 1.0}
    classes = rng.choice(CLASS_KEYS[:-1], size=int(rng.integers(1, 5)), replace=False)
    weights = rng.dirichlet(np.ones(len(classes)))
    return {str(k): float(w) for k, w in zip(classes, weights, strict=True)}


def _format_share(value: float) -> str:
    return "0.0" if value == 0.0 else repr(round(value, 6))
