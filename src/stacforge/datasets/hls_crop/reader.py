"""Finds the chips in SOURCE and reads each chip's metadata and mask histogram.

:func:`find_chips` pairs every ``*_merged.tif`` with its ``*.mask.tif`` and decides its split
and sub-collection;
:func:`read_chip` runs in a worker process (see :func:`stacforge.parallel.ordered_map`) and
reads the two files' headers, checks them, and counts the mask's classes: no image pixel is
read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from rasterio.errors import RasterioError
from rio_stac.stac import get_projection_info

from stacforge.catalog.labels import Split
from stacforge.catalog.writer import MAX_LINKS
from stacforge.datasets.hls_crop import constants as c
from stacforge.datasets.hls_crop.scenes import Scenes
from stacforge.datasets.hls_crop.tiff import check_blocks
from stacforge.errors import InputError
from stacforge.geometry import to_lonlat

_ID_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_GDAL_OPTIONS = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
"""GDAL lists a file's folder when it opens the file, looking for sidecars (``.aux.xml``,
``.ovr``); chip folders hold thousands of files and the chips have no sidecars, so the listing
would cost more than the reads (and grow with the folder)."""


@dataclass(frozen=True, slots=True)
class ChipFiles:
    """The two files of one chip, where they sit in SOURCE, and the chip's split.

    Attributes:
        chip_id: The chip's id from its file name, made id-safe (``chip_085_328``).
        image: The 18-band HLS GeoTIFF.
        mask: The one-band class mask.
        image_path: ``image`` relative to SOURCE, with ``/``.
        mask_path: ``mask`` relative to SOURCE, with ``/``.
        split: From the split lists, else the folder, else None.
        partition: Where the chip's items go below their top-level collections: its split's
            sub-collection (``train``, ``validate``, ``test``, ``unsplit``), and a band of ten
            chip-grid rows (``rows-080-089``) where a split has too many chips for one file.
        scenes: The chip's three HLS scenes, where a scene table lists them.
    """

    chip_id: str
    image: Path
    mask: Path
    image_path: str
    mask_path: str
    split: Split | None
    partition: tuple[str, ...]
    scenes: Scenes | None = None


@dataclass(frozen=True, slots=True)
class Chip:
    """What the catalog needs of one chip: its grid, its bands' data type and its mask's
    class histogram.

    Attributes:
        files: The chip's files.
        proj_code: ``EPSG:<code>`` of the chip's CRS, or None where it has no EPSG code.
        proj_wkt2: The CRS as WKT2 where it has no EPSG code.
        shape: Rows and columns.
        transform: The affine transform, as rio-stac gives it (nine numbers).
        proj_bbox: Bounds in the chip's CRS.
        footprint: The chip's outline in longitude/latitude, edges densified.
        data_types: Data type of each image band.
        nodata: The image's nodata value.
        scales: Scale of each image band (1 where unset).
        offsets: Offset of each image band (0 where unset).
        mask_data_type: Data type of the mask.
        counts: Pixels of each class 0..13 in the mask.
        image_size: Bytes of the image file.
        mask_size: Bytes of the mask file.
    """

    files: ChipFiles
    proj_code: str | None
    proj_wkt2: str | None
    shape: tuple[int, int]
    transform: tuple[float, ...]
    proj_bbox: tuple[float, float, float, float]
    footprint: dict[str, Any]
    data_types: tuple[str, ...]
    nodata: float
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    mask_data_type: str
    counts: tuple[int, ...]
    image_size: int
    mask_size: int


def find_chips(
    source: Path,
    *,
    invalid: Callable[[InputError], None],
    scenes: Mapping[str, Scenes] | None = None,
) -> list[ChipFiles]:
    """Finds every chip below ``source``, with its split and partition.

    Images (``*_merged.tif``) and masks (``*.mask.tif``) may sit in the same folder (as on
    Hugging Face: ``training_chips/``, ``validation_chips/``) or apart (as on Source
    Cooperative: ``hls/``, ``masks/``); they are paired by chip id. A chip's split comes from
    the split lists (``training_data.txt``...), else from its folder's name.

    Args:
        source: The dataset's folder.
        invalid: Called with the error for each bad chip (see
            :meth:`stacforge.datasets.BuildOptions.invalid`: it raises, or reports and skips).
        scenes: Each chip's scenes by chip id (see :mod:`.scenes`), if known.

    Returns:
        The chips by split (train, validate, test, then unsplit chips), then by id.

    Raises:
        InputError: No chip below ``source``; or what ``invalid`` raises (an image without
            mask, a mask without image, a chip id found twice, a chip in two split lists).
    """
    images: dict[str, Path] = {}
    masks: dict[str, Path] = {}
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            for pattern, by_chip in ((c.CHIP_FILE, images), (c.MASK_FILE, masks)):
                if match := pattern.match(name):
                    _add(by_chip, match["chip"], Path(folder, name), invalid)
                    break
    if not images and not masks:
        raise InputError(source, "no chips (*_merged.tif with *.mask.tif) below this folder")
    listed, conflicts = _read_split_lists(source, invalid)
    splits: dict[Split | None, list[tuple[str, Path, Path]]] = {}
    for chip in sorted(images.keys() | masks.keys()):
        image, mask = images.get(chip), masks.get(chip)
        if image is None:
            invalid(InputError(masks[chip], "mask without its chip image (*_merged.tif)"))
        elif mask is None:
            invalid(InputError(image, f"chip without its mask ({chip}.mask.tif)"))
        elif chip not in conflicts:  # a chip in two split lists is reported already
            split = listed.get(chip) or _folder_split(image, source)
            splits.setdefault(split, []).append((chip, image, mask))
    found: list[ChipFiles] = []
    for split in ("train", "validate", "test", None):
        chips = splits.get(split, [])
        for chip, image, mask in chips:
            chip_id = _ID_UNSAFE.sub("-", chip.lower())
            found.append(
                ChipFiles(
                    chip_id=chip_id,
                    image=image,
                    mask=mask,
                    image_path=image.relative_to(source).as_posix(),
                    mask_path=mask.relative_to(source).as_posix(),
                    split=split,
                    partition=_partition(split, chip_id, len(chips)),
                    scenes=(scenes or {}).get(chip),
                )
            )
    return found


def read_chip(files: ChipFiles) -> Chip | InputError:
    """Reads one chip's metadata and mask histogram (a worker function: errors are returned,
    so that the build can skip the chip and go on).

    Returns:
        The chip, or an :class:`InputError` naming the bad file: truncated or unreadable, not
        18 bands, no CRS, a mask on another grid, a class value outside 0..13.
    """
    try:
        with rasterio.Env(**_GDAL_OPTIONS):
            return _read_chip(files)
    except InputError as error:
        return error


def _read_chip(files: ChipFiles) -> Chip:
    for path in (files.image, files.mask):
        check_blocks(path)
    with _open(files.image) as image:
        if image.count != c.BAND_COUNT:
            raise InputError(
                files.image,
                f"{image.count} bands, expected {c.BAND_COUNT} "
                f"({len(c.HLS_BANDS)} HLS bands x {c.TIME_STEPS} time steps)",
            )
        if image.crs is None:
            raise InputError(files.image, "no coordinate reference system")
        projection = get_projection_info(image)
        epsg = projection["epsg"]
        crs, transform, shape = image.crs, image.transform, (image.height, image.width)
        bounds = tuple(projection["bbox"])
        data_types = tuple(image.dtypes)
        nodata = c.NODATA if image.nodata is None else image.nodata
        scales, offsets = tuple(image.scales), tuple(image.offsets)
    with _open(files.mask) as mask:
        grid = (mask.count, mask.crs, (mask.height, mask.width))
        if grid != (1, crs, shape) or not mask.transform.almost_equals(transform, 1e-6):
            raise InputError(
                files.mask,
                f"grid differs from its chip {files.image.name}: {mask.count} band(s), "
                f"{mask.crs}, {mask.width}x{mask.height} px at {tuple(mask.transform)[:6]}, "
                f"expected 1 band, {crs}, {shape[1]}x{shape[0]} px at {tuple(transform)[:6]}",
            )
        try:
            classes = mask.read(1)
        except RasterioError as error:
            raise InputError(files.mask, f"unreadable mask ({_first_line(error)})") from None
        mask_data_type = mask.dtypes[0]
    counts = _histogram(files.mask, classes)
    code = f"EPSG:{epsg}" if epsg else crs.to_wkt()  # an EPSG code reprojects faster
    footprint = to_lonlat(shapely.box(*bounds), code, densify=c.FOOTPRINT_DENSIFY)
    return Chip(
        files=files,
        proj_code=code if epsg else None,
        proj_wkt2=None if epsg else code,
        shape=shape,
        transform=tuple(float(v) for v in projection["transform"]),
        proj_bbox=(float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])),
        footprint=footprint,
        data_types=data_types,
        nodata=float(nodata),
        scales=tuple(float(s) for s in scales),
        offsets=tuple(float(o) for o in offsets),
        mask_data_type=mask_data_type,
        counts=counts,
        image_size=files.image.stat().st_size,
        mask_size=files.mask.stat().st_size,
    )


def _open(path: Path) -> Any:
    """``rasterio.open(path)``, an unreadable file reported as an :class:`InputError`."""
    try:
        dataset = rasterio.open(path)
    except RasterioError as error:
        raise InputError(path, f"not a readable GeoTIFF ({_first_line(error)})") from None
    if dataset.driver != "GTiff":
        dataset.close()
        raise InputError(path, f"not a GeoTIFF ({dataset.driver})")
    return dataset


def _histogram(path: Path, classes: np.ndarray) -> tuple[int, ...]:
    """Pixels of each class 0..13.

    Raises:
        InputError: Not integers, or a value outside 0..13.
    """
    if classes.dtype.kind not in "iu":
        raise InputError(path, f"mask of {classes.dtype} values, expected integer classes")
    flat = classes.ravel()
    if classes.dtype.kind == "i" and (lowest := int(flat.min())) < 0:
        raise InputError(path, f"class value {lowest} outside 0..{len(c.CLASSES) - 1}")
    counts = np.bincount(flat, minlength=len(c.CLASSES))
    if len(counts) > len(c.CLASSES):
        outside = np.flatnonzero(counts[len(c.CLASSES) :]) + len(c.CLASSES)
        raise InputError(
            path,
            f"class value {int(outside[0])} outside 0..{len(c.CLASSES) - 1} "
            f"({int(counts[outside].sum()):,} pixels)",
        )
    return tuple(int(n) for n in counts)


def _add(
    found: dict[str, Path], chip: str, path: Path, invalid: Callable[[InputError], None]
) -> None:
    if chip in found:
        invalid(InputError(path, f"chip {chip} found twice (also {found[chip]})"))
        return
    found[chip] = path


def _read_split_lists(
    source: Path, invalid: Callable[[InputError], None]
) -> tuple[dict[str, Split], set[str]]:
    """Chip id -> split from the split lists that exist, and the chips that two lists name
    (each reported to ``invalid``)."""
    splits: dict[str, Split] = {}
    conflicts: set[str] = set()
    lists: tuple[tuple[tuple[str, ...], Split], ...] = (
        (c.TRAIN_LISTS, "train"),
        (c.VALIDATION_LISTS, "validate"),
    )
    for names, split in lists:
        path = next((source / n for n in names if (source / n).is_file()), None)
        if path is None:
            continue
        for line, chip in _list_entries(path):
            if splits.setdefault(chip, split) != split and chip not in conflicts:
                conflicts.add(chip)
                invalid(InputError(path, f"chip {chip} is in two split lists", record=line))
    return splits, conflicts


def _list_entries(path: Path) -> Iterable[tuple[str, str]]:
    """``(line N, chip id)`` of a split list: one chip a line, the first comma-separated
    field, with or without a file suffix (a header line names no chip and matches none)."""
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            entry = text.split(",")[0].strip().strip("\"'")
            entry = re.sub(r"(_merged|[._]mask)?(\.tiff?)?$", "", entry, flags=re.IGNORECASE)
            if entry:
                yield f"line {number}", entry


def _folder_split(image: Path, source: Path) -> Split | None:
    """The split the nearest folder of a chip names (``validation_chips`` -> validate)."""
    for folder in reversed(image.relative_to(source).parts[:-1]):
        lowered = folder.lower()
        for prefix, split in c.FOLDER_SPLITS:
            if lowered.startswith(prefix):
                return split
    return None


def _partition(split: Split | None, chip_id: str, chips_in_split: int) -> tuple[str, ...]:
    """A chip's sub-collection: its split's, then, where the split has more chips than one
    file should list, its band of ten chip-grid rows."""
    name = split or "unsplit"
    if chips_in_split <= MAX_LINKS:
        return (name,)
    match = c.CHIP_ROW.match(chip_id)
    if match is None:
        return (name, "other")
    first = int(match["row"]) // 10 * 10
    return (name, f"rows-{first:03d}-{first + 9:03d}")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
