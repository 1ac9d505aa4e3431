"""Fixed facts of DeepOrchidSeries: file names, patch geometry, bands, ids, URLs, licenses."""

from __future__ import annotations

import re
from typing import Any, Final

NAME: Final = "deeporchidseries"
COLLECTION: Final = "deeporchidseries"

CSV_FILE: Final = "DeepOrchidSeries.csv"
CLASS_INDEX_FILE: Final = "index.json"
IMAGES_FOLDER: Final = "final_dataset_by_gbifid"
CSV_DELIMITER: Final = ";"
CSV_COLUMNS: Final = (
    "gbifid",
    "canonical_name",
    "decimallatitude",
    "decimallongitude",
    "speciesKey",
    "cell_index",
    "bot_country",
    "bot_code",
    "lvl2_code",
    "continent_code",
)
"""The columns the builder reads (found by name; others are ignored)."""

IMAGE_NAME: Final = re.compile(
    r"^(?P<kind>RGB|IR0)_(?P<year>\d{4})_(?P<month>\d{1,2})_(?P<gbifid>\d+)_?\.png$", re.IGNORECASE
)
"""``RGB_YYYY_MM_<gbifid>_.png`` / ``IR0_YYYY_MM_<gbifid>_.png`` (trailing ``_`` optional, a
month without its leading zero accepted)."""
KINDS: Final = ("RGB", "IR0")
MONTHS: Final = 12
"""Each occurrence has twelve consecutive monthly patches of each kind."""

PATCH_PIXELS: Final = 64
GSD: Final = 10.0
PATCH_METRES: Final = PATCH_PIXELS * GSD
"""640 m x 640 m patches centred on the occurrence."""
BIT_DEPTH: Final = 16
CHANNELS: Final = {"RGB": 3, "IR0": 1}
"""PNG colour type 2 (truecolour) for RGB, 0 (greyscale) for IR."""

ASSET_PREFIX: Final = {"RGB": "rgb", "IR0": "ir"}
"""Asset keys are ``rgb_MM`` / ``ir_MM`` by calendar month: each month occurs once in a
twelve-month series, so keys are the same in every item whatever year the series starts."""
ASSET_DAY: Final = 15
"""Asset ``datetime``: the 15th of the patch's month (file names give the month only)."""

BANDS: Final[dict[str, list[dict[str, Any]]]] = {
    "RGB": [
        {"name": "B04", "eo:common_name": "red", "eo:center_wavelength": 0.665},
        {"name": "B03", "eo:common_name": "green", "eo:center_wavelength": 0.56},
        {"name": "B02", "eo:common_name": "blue", "eo:center_wavelength": 0.49},
    ],
    "IR0": [{"name": "B08", "eo:common_name": "nir", "eo:center_wavelength": 0.842}],
}
"""Sentinel-2 L1C bands of each PNG, in channel order, as 16-bit top-of-atmosphere digital
numbers (reflectance x 10,000) "identical to the original L1C products"."""

LABEL_PROPERTY: Final = "species_key"
LABEL_DESCRIPTION: Final = (
    "Presence of one orchid species (GBIF speciesKey) at the occurrence at the patch centre"
)
LABEL_METHODS: Final = ("manual",)
"""Occurrences are field observations and specimens curated by Zizka et al. (2021)."""

DEFAULT_TRAIN: Final = 0.8
DEFAULT_VALIDATE: Final = 0.1
DEFAULT_SEED: Final = 0
"""ml-aoi split of geographic blocks (``cell_index``): 80 % train, 10 % validate, the rest test."""

MAX_ITEMS_PER_COLLECTION: Final = 8_000
"""Botanical countries with more occurrences are split into 1-degree cells, and cells with
more into buckets, so that no (sub-)collection lists more than about 10,000 links."""
SHARD_OCCURRENCES: Final = 200_000
"""Occurrences per build partition (consecutive top image folders): a process pool's start-up
is paid once per partition."""

CONTINENTS: Final = {
    "1": "europe",
    "2": "africa",
    "3": "asia-temperate",
    "4": "asia-tropical",
    "5": "australasia",
    "6": "pacific",
    "7": "northern-america",
    "8": "southern-america",
    "9": "antarctic",
}
"""WGSRPD level-1 regions (continents) by code."""

CATALOG_ID: Final = "deeporchidseries"
CATALOG_TITLE: Final = "DeepOrchidSeries"
CATALOG_DESCRIPTION: Final = (
    "Twelve-month Sentinel-2 RGB and near-infrared image time series (64 x 64 px, 640 m x "
    "640 m) around about one million geolocated orchid occurrences worldwide, labelled with "
    "their species, for deep species distribution models."
)
COLLECTION_TITLE: Final = "DeepOrchidSeries occurrences"
COLLECTION_DESCRIPTION: Final = (
    "One item per orchid occurrence: its species as vector label (label extension), its "
    "geographic block's ml-aoi split, its WGSRPD regions, and 24 monthly 16-bit PNG patches "
    "(12 RGB, 12 near-infrared) of Sentinel-2 L1C centred on it. Sub-collections follow the "
    "WGSRPD continent, region and botanical country of the occurrence."
)
KEYWORDS: Final = (
    "species distribution model",
    "orchids",
    "Sentinel-2",
    "time series",
    "biodiversity",
    "GBIF",
)
DATASET_DOI: Final = "https://doi.org/10.5281/zenodo.4972594"
PAPER_DOI: Final = "https://doi.org/10.3389/fpls.2022.839327"
GBIF_DOWNLOAD_DOI: Final = "https://doi.org/10.15468/dl.4bijtu"
IMAGES_URL: Final = "https://lab.plantnet.org/deeporchidseries/"
GBIF_OCCURRENCE_URL: Final = "https://www.gbif.org/occurrence/{gbifid}"
GBIF_SPECIES_URL: Final = "https://www.gbif.org/species/{species_key}"

PROVIDERS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "Inria, LIRMM, AMAP, LIPHY (Estopinan et al.)",
        "roles": ["producer", "processor", "licensor"],
        "url": DATASET_DOI,
    },
    {
        "name": "GBIF (occurrences curated by Zizka et al. 2021)",
        "roles": ["producer"],
        "url": GBIF_DOWNLOAD_DOI,
    },
    {
        "name": "European Space Agency (Copernicus Sentinel-2)",
        "roles": ["producer", "licensor"],
        "url": "https://sentinel.esa.int",
    },
    {"name": "Pl@ntNet (Inria, CIRAD)", "roles": ["host"], "url": IMAGES_URL},
)
LINKS: Final[tuple[dict[str, Any], ...]] = (
    {"rel": "cite-as", "href": PAPER_DOI, "title": "Estopinan et al. 2022, Front. Plant Sci."},
    {"rel": "describedby", "href": DATASET_DOI, "title": "DeepOrchidSeries on Zenodo"},
    {"rel": "license", "href": DATASET_DOI, "title": "Terms of the DeepOrchidSeries record"},
    {
        "rel": "license",
        "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
        "title": "Copernicus Sentinel data terms and conditions",
    },
    {"rel": "via", "href": GBIF_DOWNLOAD_DOI, "title": "GBIF occurrence download (2019-08-26)"},
)
