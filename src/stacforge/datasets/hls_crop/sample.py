"""Writes sample input in the dataset's native layout: real GeoTIFFs on the real chip grid.

``training_chips/`` and ``validation_chips/`` hold ``chip_XXX_YYY_merged.tif`` (18 bands,
int16, nodata -9999, EPSG:5070, 224 x 224 px at 30 m) and ``chip_XXX_YYY.mask.tif`` (uint8
classes 0..13); ``training_data.txt`` and ``validation_data.txt`` list the ids, as published
on Hugging Face. Chips sit at real chip footprints of the dataset (:data:`REAL_CHIPS`), then
at their neighbours on the same grid when more are asked for. Images are flat per field, so
that deflate keeps them small (about 20 kB a chip).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
from rasterio.transform import from_origin

from stacforge.datasets.hls_crop import constants as c

REAL_CHIPS: Final = (
    (79, 333), (87, 327), (90, 324), (92, 368), (95, 327), (97, 334), (99, 355), (100, 387),
    (102, 365), (104, 361), (106, 330), (107, 410), (109, 389), (111, 414), (113, 397),
    (115, 438), (118, 382), (121, 391), (125, 303), (128, 322), (131, 421), (134, 364),
    (138, 440), (142, 326), (146, 494), (150, 486), (153, 415), (155, 479), (159, 468),
    (162, 524), (164, 526), (166, 524), (170, 346), (174, 400), (179, 466), (182, 426),
    (185, 348), (189, 342), (191, 495), (194, 311), (196, 296), (199, 317), (202, 419),
    (205, 480), (209, 449), (216, 429), (219, 436), (222, 453),
)  # fmt: skip
"""``(row, column)`` of 48 chips of the published dataset, spread over CONUS (every 36th of
the 1,751 chips in ``chip_payload_5070.geojson``, sorted by id)."""

TRAIN_SHARE: Final = 0.8

# Mask classes drawn for fields: mostly vegetation and the big crops; no data rarely.
_CLASS_WEIGHTS: Final = np.array(
    [0.0, 0.2, 0.12, 0.18, 0.15, 0.04, 0.08, 0.04, 0.06, 0.03, 0.03, 0.03, 0.02, 0.02]
)
# Surface reflectance x 10,000 of each class in the six bands, and how green each time step is.
_REFLECTANCE: Final = np.array(
    [
        [0, 0, 0, 0, 0, 0],
        [400, 700, 600, 2800, 2000, 1100],
        [250, 450, 300, 3000, 1500, 700],
        [450, 800, 700, 3600, 2200, 1200],
        [420, 780, 650, 3400, 2100, 1100],
        [300, 500, 400, 1800, 900, 500],
        [900, 1100, 1200, 1900, 2300, 2000],
        [300, 400, 300, 200, 100, 80],
        [500, 850, 800, 3100, 2400, 1400],
        [400, 750, 600, 3300, 2000, 1000],
        [800, 1000, 1100, 2000, 2600, 2100],
        [500, 800, 800, 3000, 2300, 1300],
        [480, 820, 760, 3000, 2300, 1300],
        [600, 900, 900, 2500, 2300, 1500],
    ],
    dtype=np.int16,
)
_SEASON: Final = (0.7, 1.0, 0.85)


def chip_origin(row: int, column: int) -> tuple[float, float]:
    """West and north edge (EPSG:5070) of ``chip_<row>_<column>`` on the dataset's grid."""
    x0, y0 = c.GRID_ORIGIN
    step = c.CHIP_SIZE * c.GSD
    return x0 + column * step, y0 - row * step


def chip_cells(count: int) -> list[tuple[int, int]]:
    """``count`` distinct chip cells: the real chips first (every other one first, so that a
    few chips already spread over CONUS), then rings of neighbours."""
    cells = list((REAL_CHIPS[::2] + REAL_CHIPS[1::2])[:count])
    taken = set(cells)
    radius = 0
    while len(cells) < count:
        radius += 1
        ring = [
            (dr, dc)
            for dr in range(-radius, radius + 1)
            for dc in range(-radius, radius + 1)
            if max(abs(dr), abs(dc)) == radius
        ]
        for dr, dc in ring:
            for row, col in REAL_CHIPS:
                cell = (row + dr, col + dc)
                if cell not in taken and len(cells) < count:
                    taken.add(cell)
                    cells.append(cell)
    return cells


def write_sample(out: str | Path, *, count: int = 24, seed: int = 0) -> Path:
    """Writes ``count`` chips with masks and the two split lists.

    Args:
        out: Folder to write into (created if missing).
        count: How many chips.
        seed: Seed of the fields, classes and split; equal seeds give equal files.

    Returns:
        ``out``, ready to pass to ``stacforge build hls-crop``.
    """
    out = Path(out)
    rng = np.random.default_rng(seed)
    cells = chip_cells(count)
    train = set(rng.permutation(count)[: round(count * TRAIN_SHARE)].tolist())
    lists: dict[str, list[str]] = {"training_data.txt": [], "validation_data.txt": []}
    for index, (row, col) in enumerate(cells):
        chip_id = f"chip_{row:03d}_{col:03d}"
        split = "training" if index in train else "validation"
        mask = random_mask(rng)
        write_chip(out / f"{split}_chips", chip_id, chip_origin(row, col), mask, image_for(mask))
        lists[f"{split}_data.txt"].append(chip_id)
    for name, ids in lists.items():
        (out / name).write_text("".join(f"{chip_id}\n" for chip_id in sorted(ids)))
    return out


def random_mask(rng: np.random.Generator, size: int = c.CHIP_SIZE) -> np.ndarray:
    """A mask of rectangular fields of random classes (a strip of no data in some chips)."""
    mask = np.empty((size, size), dtype=np.uint8)
    rows = _cuts(rng, size)
    cols = _cuts(rng, size)
    for top, bottom in itertools.pairwise(rows):
        for left, right in itertools.pairwise(cols):
            value = rng.choice(len(_CLASS_WEIGHTS), p=_CLASS_WEIGHTS / _CLASS_WEIGHTS.sum())
            mask[top:bottom, left:right] = value
    if rng.random() < 0.2:
        mask[:, : int(rng.integers(1, 12))] = c.NODATA_CLASS
    return mask


def image_for(mask: np.ndarray) -> np.ndarray:
    """The 18 bands (int16) of a chip whose fields are ``mask``: each class's reflectance,
    scaled by how green each time step is; no-data pixels are -9999."""
    bands = []
    for factor in _SEASON:
        reflectance = (_REFLECTANCE * np.array([1, 1, 1, factor, 1, 1])).astype(np.int16)
        bands.append(np.moveaxis(reflectance[mask], -1, 0))
    image = np.concatenate(bands)
    image[:, mask == c.NODATA_CLASS] = c.NODATA
    return image


def write_chip(
    folder: Path,
    chip_id: str,
    origin: tuple[float, float],
    mask: np.ndarray,
    image: np.ndarray,
    *,
    mask_origin: tuple[float, float] | None = None,
) -> tuple[Path, Path]:
    """Writes ``<chip_id>_merged.tif`` and ``<chip_id>.mask.tif`` (deflate) into ``folder``.

    Args:
        folder: Created if missing.
        chip_id: ``chip_XXX_YYY``.
        origin: West and north edge of the chip in EPSG:5070.
        mask: Classes, one band.
        image: The bands, ``(bands, rows, columns)``.
        mask_origin: Where the mask starts, if not at ``origin`` (a mask off its chip's grid).

    Returns:
        The image and mask paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    image_path = folder / f"{chip_id}_merged.tif"
    mask_path = folder / f"{chip_id}.mask.tif"
    common = {
        "driver": "GTiff",
        "crs": c.CRS,
        "compress": "deflate",
        "predictor": 2,
        "height": mask.shape[0],
        "width": mask.shape[1],
    }
    with rasterio.open(
        image_path,
        "w",
        count=image.shape[0],
        dtype=image.dtype,
        nodata=c.NODATA,
        transform=from_origin(*origin, c.GSD, c.GSD),
        **common,
    ) as dst:
        dst.write(image)
    with rasterio.open(
        mask_path,
        "w",
        count=1,
        dtype=mask.dtype,
        transform=from_origin(*(mask_origin or origin), c.GSD, c.GSD),
        **common,
    ) as dst:
        dst.write(mask, 1)
    return image_path, mask_path


def _cuts(rng: np.random.Generator, size: int) -> list[int]:
    """Field edges along one axis: 0, then steps of 24 to 96 px, then ``size``."""
    cuts = [0]
    while cuts[-1] < size:
        cuts.append(min(size, cuts[-1] + int(rng.integers(24, 97))))
    return cuts
