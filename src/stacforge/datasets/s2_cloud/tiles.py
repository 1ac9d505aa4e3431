"""Sentinel-2 tiles: MGRS tile codes and the tiles' footprints in their UTM zone.

A Sentinel-2 tile is named after a 100 km square of the Military Grid Reference System
(``31UFU``: UTM zone 31, latitude band U, square FU). The tile shares the square's upper-left
corner, snapped outwards to the zone's 60 m pixel grid (easting down, northing up), and is
109.8 km wide, so neighbouring tiles overlap by 9.8 km to the east and south.

The square's corner follows from its letters (MGRS "AA" lettering of WGS 84): the column
letter gives the easting (letters A-H, J-R, S-Z for zones 1, 2, 3 mod 3); the row letter gives
the northing modulo 2,000 km (A at the equator in odd zones, F in even ones); the latitude band
picks the 2,000 km cycle.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from pyproj import Transformer

from stacforge.datasets.s2_cloud.constants import TILE_GRID, TILE_SIZE
from stacforge.geometry import utm_code

BAND_LETTERS = "CDEFGHJKLMNPQRSTUVWX"
"""Latitude bands of 8 degrees from 80 S (X spans 12 degrees, to 84 N)."""
COLUMN_LETTERS = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")
"""Column letters of the 100 km squares (eastings 100-800 km) by zone number modulo 3."""
ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"
"""Row letters of the 100 km squares, 20 in a 2,000 km cycle."""

SQUARE = 100_000
CYCLE = 2_000_000


@dataclass(frozen=True, slots=True)
class Tile:
    """One Sentinel-2 tile (one MGRS 100 km square).

    Attributes:
        zone: UTM zone number, 1 to 60.
        band: Latitude band letter, C to X.
        square: The 100 km square's column and row letters.
    """

    zone: int
    band: str
    square: str

    @property
    def code(self) -> str:
        """The tile's name as Sentinel-2 spells it (without the leading ``T``): ``31UFU``."""
        return f"{self.zone:02d}{self.band}{self.square}"

    @property
    def hemisphere(self) -> str:
        """``N`` or ``S``: bands C to M lie south of the equator."""
        return "N" if self.band >= "N" else "S"

    @property
    def crs(self) -> str:
        """The tile's UTM zone as an EPSG code, e.g. ``EPSG:32631``."""
        return utm_code(f"{self.zone}{self.hemisphere}")

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """The tile's footprint ``(west, south, east, north)`` in metres of its UTM zone."""
        west, north = square_corner(self)
        west = west // TILE_GRID * TILE_GRID
        north = -(-north // TILE_GRID) * TILE_GRID
        return west, north - TILE_SIZE, west + TILE_SIZE, north


def parse_tile(text: str) -> Tile:
    """A tile from its code: ``31UFU``, ``T31UFU``, ``1CDE`` or lower case.

    Raises:
        ValueError: Not a tile code, or letters that name no 100 km square of that zone and
            latitude band.
    """
    code = text.strip().upper().removeprefix("T")
    digits = len(code) - 3
    if digits not in (1, 2) or not code[:digits].isdigit():
        raise ValueError(f"not an MGRS tile code: {text!r}")
    zone, band, square = int(code[:digits]), code[digits], code[digits + 1 :]
    if not 1 <= zone <= 60 or band not in BAND_LETTERS:
        raise ValueError(f"not an MGRS tile code: {text!r}")
    if square[0] not in COLUMN_LETTERS[zone % 3] or square[1] not in ROW_LETTERS:
        raise ValueError(f"{text!r}: zone {zone} has no 100 km square {square}")
    tile = Tile(zone, band, square)
    square_corner(tile)  # checks that the square lies in the band
    return tile


@functools.lru_cache(maxsize=4096)
def square_corner(tile: Tile) -> tuple[int, int]:
    """The upper-left corner ``(easting, northing)`` of the tile's MGRS 100 km square.

    Raises:
        ValueError: The square does not reach into the tile's latitude band.
    """
    easting = (COLUMN_LETTERS[tile.zone % 3].index(tile.square[0]) + 1) * SQUARE
    row = ROW_LETTERS.index(tile.square[1])
    if tile.zone % 2 == 0:
        row = (row - 5) % len(ROW_LETTERS)
    south, north = _band_northings(tile.zone, tile.band)
    # The band spans less than a cycle: of the squares 2,000 km apart that share these
    # letters, the one nearest the band's middle is the one in the band.
    middle = (south + north) / 2
    cycle = round((middle - row * SQUARE - SQUARE / 2) / CYCLE)
    bottom = row * SQUARE + cycle * CYCLE
    margin = SQUARE  # northings along a parallel grow towards the zone's edges
    if bottom + SQUARE < south - margin or bottom > north + margin:
        raise ValueError(
            f"{tile.code}: square {tile.square} lies outside latitude band {tile.band}"
        )
    return easting, bottom + SQUARE


@functools.lru_cache(maxsize=128)
def _band_northings(zone: int, band: str) -> tuple[float, float]:
    """Northings of the band's southern and northern parallels on the zone's central meridian."""
    index = BAND_LETTERS.index(band)
    south = -80.0 + 8.0 * index
    north = 84.0 if band == "X" else south + 8.0
    hemisphere = "N" if band >= "N" else "S"
    transformer = Transformer.from_crs("EPSG:4326", utm_code(f"{zone}{hemisphere}"), always_xy=True)
    meridian = zone * 6.0 - 183.0
    _, y_south = transformer.transform(meridian, south)
    _, y_north = transformer.transform(meridian, north)
    if not (math.isfinite(y_south) and math.isfinite(y_north)):
        raise ValueError(f"no northings for band {band} in zone {zone}")
    return y_south, y_north
