"""Fixed facts of the Sentinel-2 time-series cloud detection dataset: file names, TFRecord
features, classes, bands, the Sentinel-2 tiling grid, ids, URLs, providers."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final, Literal

NAME: Final = "s2-cloud"

CATALOG_ID: Final = "s2-cloud"
CATALOG_TITLE: Final = "Sentinel-2 time-series cloud detection"
CATALOG_DESCRIPTION: Final = (
    "Time series of 42 x 42 pixel Sentinel-2 patches (B2, B3, B4, B8 at 10 m) at random points "
    "of Sentinel-2 tiles over China, each time step labelled clear, opaque cloud, thin cloud, "
    "haze, cloud shadow or snow (Gong et al., 2024)."
)
LABELS_COLLECTION: Final = "s2_cloud_labels"

FILE_NAME: Final = re.compile(
    r"^(?P<split>train|val)_(?P<tile>T?\d{1,2}[C-HJ-NP-X][A-HJ-NP-Z]{2})_(?P<count>\d+)"
    r"(?:\.[A-Za-z0-9]+)?$",
    re.IGNORECASE,
)
"""A TFRecord file: ``<split>_<tile>_<n>`` with an optional extension, e.g. ``val_50TMK_500``
or ``train_T31UFU_12.tfrecord``."""
SPLITS: Final[dict[str, Literal["train", "validate"]]] = {"train": "train", "val": "validate"}
"""File-name split -> ``ml-aoi:split``."""
ARCHIVE_SUFFIX: Final = ".7z"
TFRECORD_SUFFIXES: Final = frozenset({"", ".tfrecord", ".tfrecords", ".tfr", ".record", ".rec"})
"""Extensions of TFRecord files (the published files have none)."""
TFRECORD_PREFIXES: Final = ("train_", "val_")


# The tf.train.Example features (the dataset's parsing spec: localid int64, the rest bytes).
LOCALID: Final = "localid"
IMAGES: Final = "image_raw_ldseries"
LABELS: Final = "labels"
DATES: Final = "dates"
WEIGHTS: Final = "weights"
FEATURES: Final = (LOCALID, IMAGES, LABELS, DATES, WEIGHTS)

BANDS_PER_STEP: Final = 4
PATCH_SIZE: Final = 42
IMAGE_DTYPE: Final = "<u2"
STEP_BYTES: Final = BANDS_PER_STEP * PATCH_SIZE * PATCH_SIZE * 2
"""Bytes of one time step of ``image_raw_ldseries``: 4 bands of 42 x 42 uint16."""
MAX_GROUP: Final = 100
"""The dataset splits longer series into records of at most this many time steps."""

SENTINEL2_START: Final = date(2015, 6, 23)
"""Launch of Sentinel-2A: no observation is older."""

CLASSES: Final = {
    0: "clear",
    1: "opaque_cloud",
    2: "thin_cloud",
    3: "haze",
    4: "cloud_shadow",
    5: "snow",
}
"""Label value -> class name (``label:overviews`` names, search names ``snow>=1``)."""
CLASS_DESCRIPTIONS: Final = {
    0: "Clear",
    1: "Opaque cloud",
    2: "Thin cloud",
    3: "Haze",
    4: "Cloud shadow",
    5: "Snow",
}
LABEL_DESCRIPTION: Final = (
    "Cloud cover status of the centre 6 x 6 pixels of the patch at each time step (in "
    "s2_cloud:labels, one value per date of s2_cloud:dates): 0 clear, 1 opaque cloud, "
    "2 thin cloud, 3 haze, 4 cloud shadow, 5 snow; interpreted from 348 x 348 pixel true "
    "colour patches"
)

GSD: Final = 10.0
BANDS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "B02",
        "description": "Blue",
        "eo:common_name": "blue",
        "eo:center_wavelength": 0.49,
        "eo:full_width_half_max": 0.098,
    },
    {
        "name": "B03",
        "description": "Green",
        "eo:common_name": "green",
        "eo:center_wavelength": 0.56,
        "eo:full_width_half_max": 0.045,
    },
    {
        "name": "B04",
        "description": "Red",
        "eo:common_name": "red",
        "eo:center_wavelength": 0.665,
        "eo:full_width_half_max": 0.038,
    },
    {
        "name": "B08",
        "description": "Near infrared",
        "eo:common_name": "nir",
        "eo:center_wavelength": 0.842,
        "eo:full_width_half_max": 0.145,
    },
)
"""The four 10 m bands of ``image_raw_ldseries``, in array order (MSI band centres and
widths as in the Sentinel-2 user guide, rounded as other STAC catalogs give them)."""

TILE_SIZE: Final = 109_800
"""Metres: a Sentinel-2 tile is a 109.8 km UTM square (1830 pixels of 60 m)."""
TILE_GRID: Final = 60
"""Metres: tile corners sit on the 60 m pixel grid of the UTM zone."""
TILE_DENSIFY: Final = 10_000.0
"""Metres between footprint vertices before reprojection (12 points a side)."""

CITE_AS: Final = "https://doi.org/10.3390/rs16060973"
PAPER_TITLE: Final = (
    "Spatial-Temporal Approach and Dataset for Enhancing Cloud Detection in Sentinel-2 "
    "Imagery: A Case Study in China (Remote Sensing, 2024)"
)
KEYWORDS: Final = ("cloud detection", "time series", "Sentinel-2", "China", "machine learning")
AIRCAS: Final[dict[str, Any]] = {
    "name": "Aerospace Information Research Institute, Chinese Academy of Sciences",
    "roles": ["producer", "processor", "licensor"],
    "url": "http://english.aircas.cas.cn",
}
ESA: Final[dict[str, Any]] = {
    "name": "European Space Agency (Copernicus Sentinel-2)",
    "roles": ["producer", "licensor"],
    "url": "https://sentinel.esa.int",
}
HOST: Final[dict[str, Any]] = {
    "name": "Zenodo",
    "roles": ["host"],
    "url": "https://zenodo.org",
}
S2_LICENSE_LINK: Final[dict[str, Any]] = {
    "rel": "license",
    "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
    "title": "Copernicus Sentinel data terms and conditions",
}
