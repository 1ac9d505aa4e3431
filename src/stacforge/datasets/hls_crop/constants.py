"""Fixed facts of the HLS multi-temporal crop-classification chips: classes, bands, grid, ids."""

from __future__ import annotations

import re
from typing import Any, Final

from stacforge.catalog.labels import Split

NAME: Final = "hls-crop"

SOURCE_COLLECTION: Final = "hls_crop_source"
LABELS_COLLECTION: Final = "hls_crop_labels"

IMAGE_ASSET: Final = "image"
MASK_ASSET: Final = "mask"

CHIP_FILE: Final = re.compile(r"^(?P<chip>.+)_merged\.tiff?$", re.IGNORECASE)
"""``chip_XXX_YYY_merged.tif``: the 18-band HLS chip."""
MASK_FILE: Final = re.compile(r"^(?P<chip>.+?)[._]mask\.tiff?$", re.IGNORECASE)
"""``chip_XXX_YYY.mask.tif`` (also ``_mask.tif``): the CDL class mask of the same grid."""
CHIP_ROW: Final = re.compile(r"^chip_(?P<row>\d+)_\d+$")
"""``chip_<row>_<column>`` on the CDL chip grid (see :data:`GRID_ORIGIN`)."""

TRAIN_LISTS: Final = ("training_data.txt", "train_data.txt", "train_ids.csv")
VALIDATION_LISTS: Final = ("validation_data.txt", "val_data.txt", "val_ids.csv")
"""Files listing the chip ids of each split, one a line, as published (first found wins)."""
FOLDER_SPLITS: Final[tuple[tuple[str, Split], ...]] = (
    ("train", "train"),
    ("val", "validate"),
    ("test", "test"),
)
"""Split of a chip that no list names: a word its folder's name starts with (``training_chips``,
``validation_chips``)."""

CONSTELLATION: Final = "sentinel-2"
INSTRUMENTS: Final = ("msi",)
"""The chips merge HLS S30 scenes: Sentinel-2 MSI, harmonised to Landsat (the band numbers are
the S30 product's)."""

CRS: Final = "EPSG:5070"
"""CONUS Albers, the CDL's projection, in which every chip is cut."""
CHIP_SIZE: Final = 224
GSD: Final = 30.0
GRID_ORIGIN: Final = (-2356095.0, 3172605.0)
"""West and north edge (EPSG:5070) of ``chip_000_000``: ``chip_<row>_<col>`` starts 6,720 m
(224 px) further east per column and south per row."""
FOOTPRINT_DENSIFY: Final = 960.0
"""Metres between footprint vertices before reprojection: 7 segments a chip edge."""

NODATA: Final = -9999
IMAGE_DATA_TYPE: Final = "int16"
TIME_STEPS: Final = 3
HLS_BANDS: Final[tuple[tuple[str, str, str, float, float], ...]] = (
    # HLS S30 band, name, eo:common_name, center wavelength and FWHM (micrometres)
    ("B02", "Blue", "blue", 0.49, 0.098),
    ("B03", "Green", "green", 0.56, 0.045),
    ("B04", "Red", "red", 0.665, 0.038),
    ("B8A", "NIR narrow", "nir08", 0.865, 0.033),
    ("B11", "SWIR 1", "swir16", 1.61, 0.143),
    ("B12", "SWIR 2", "swir22", 2.19, 0.242),
)
"""The six bands each time step holds, in file order (bands 1-6, 7-12, 13-18)."""
BAND_COUNT: Final = len(HLS_BANDS) * TIME_STEPS

CLASSES: Final[dict[int, str]] = {
    0: "No Data",
    1: "Natural Vegetation",
    2: "Forest",
    3: "Corn",
    4: "Soybeans",
    5: "Wetlands",
    6: "Developed/Barren",
    7: "Open Water",
    8: "Winter Wheat",
    9: "Alfalfa",
    10: "Fallow/Idle Cropland",
    11: "Cotton",
    12: "Sorghum",
    13: "Other",
}
"""Mask values: CDL 2022 classes regrouped into 13 classes and no data."""
NODATA_CLASS: Final = 0

CDL_YEAR: Final = 2022
SEASON_START: Final = "2022-03-01T00:00:00Z"
SEASON_END: Final = "2022-09-30T23:59:59Z"
"""The growing season the three HLS scenes of every chip were picked from (March-September)."""

LABEL_DESCRIPTION: Final = (
    "Land cover and crop type of every pixel from the USDA Cropland Data Layer 2022, "
    "regrouped into 13 classes (0: no data)"
)

CATALOG_ID: Final = "hls-crop"
CATALOG_TITLE: Final = "HLS multi-temporal crop classification"
CATALOG_DESCRIPTION: Final = (
    "Harmonized Landsat Sentinel-2 (HLS) chips of 224 x 224 pixels at 30 m across the "
    "contiguous United States, three cloud-free scenes of the 2022 growing season each, with "
    "crop type and land cover masks from the USDA Cropland Data Layer 2022."
)
CITE_AS: Final = "https://doi.org/10.57967/hf/0955"
LICENSE: Final = "CC-BY-4.0"
LICENSE_LINK: Final[dict[str, Any]] = {
    "rel": "license",
    "href": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}
ABOUT_LINK: Final[dict[str, Any]] = {
    "rel": "about",
    "href": "https://huggingface.co/datasets/ibm-nasa-geospatial/multi-temporal-crop-classification",
    "type": "text/html",
    "title": "Dataset card",
}
KEYWORDS: Final = ("crop type", "land cover", "HLS", "CDL", "segmentation", "machine learning")

CLARK: Final[dict[str, Any]] = {
    "name": "Clark University Center for Geospatial Analytics",
    "roles": ["producer", "processor"],
    "url": "https://www.clarku.edu/centers/geospatial-analytics/",
}
NASA_IBM: Final[dict[str, Any]] = {
    "name": "NASA IMPACT and IBM",
    "roles": ["licensor", "host"],
    "url": "https://huggingface.co/ibm-nasa-geospatial",
}
LP_DAAC: Final[dict[str, Any]] = {
    "name": "NASA LP DAAC (Harmonized Landsat Sentinel-2)",
    "roles": ["producer"],
    "url": "https://hls.gsfc.nasa.gov",
}
USDA_NASS: Final[dict[str, Any]] = {
    "name": "USDA National Agricultural Statistics Service (Cropland Data Layer)",
    "roles": ["producer"],
    "url": "https://www.nass.usda.gov/Research_and_Science/Cropland/SARS1a.php",
}
