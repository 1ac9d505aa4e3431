"""Fixed facts of the RapidAI4EO corpus: ids, file names, time steps, URLs, licenses."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Final

NAME: Final = "rapidai4eo"

PF_COLLECTION: Final = "rapidai4eo_v1_source_pf"
S2_COLLECTION: Final = "rapidai4eo_v1_source_s2"
LABELS_COLLECTION: Final = "rapidai4eo_v1_labels"

GEOMETRIES_FILE: Final = "rapidai4eo_geometries.geojson.gz"
LABELS_FILE: Final = "rapidai4eo_labels.csv.gz"
LABEL_MAPPINGS_FILE: Final = "rapidai4eo_label_mappings.csv"

DEFAULT_ASSET_HREF_BASE: Final = "https://radiantearth.blob.core.windows.net/mlhub/rapidai4eo/"

SAMPLE_ID: Final = re.compile(r"^(?P<zone>\d{1,2}[NS])_(?P<tile>\d{1,3}E-\d{1,4}N)_\d{2}_\d{2}$")
"""``<UTM zone>_<24 km tile offset>_<row>_<col>``, e.g. ``33N_16E-243N_29_01``."""

ACQUISITION_TIME: Final = "T10:30:00Z"
PF_DATES: Final = tuple(date(2018, 1, 3) + timedelta(days=5 * i) for i in range(146))
"""Planet Fusion: a five-day cadence over 2018-2019."""
S2_MONTHS: Final = tuple(date(2018, month, 15) for month in range(1, 13))
"""Sentinel-2: monthly mosaics of 2018, stamped on the 15th."""
LABEL_YEAR: Final = 2018

PF_GSD: Final = 3.0
S2_GSD: Final = 10.0

LABEL_PROPERTY: Final = "class"
LABEL_DESCRIPTION: Final = (
    "Share of the 600 m sample footprint covered by each CORINE Land Cover 2018 level-3 class"
)

CATALOG_ID: Final = "rapidai4eo"
CATALOG_TITLE: Final = "RapidAI4EO corpus"
CATALOG_DESCRIPTION: Final = (
    "Dense time series of Planet Fusion and Sentinel-2 imagery with CORINE Land Cover 2018 "
    "multiclass labels at sample locations across Europe (600 m x 600 m footprints)."
)
CITE_AS: Final = "https://source.coop/planet/rapidai4eo"
KEYWORDS: Final = ("land cover", "time series", "CORINE", "Europe", "machine learning")

PLANET: Final[dict[str, Any]] = {
    "name": "Planet Labs PBC",
    "roles": ["producer", "processor", "licensor"],
    "url": "https://www.planet.com",
}
PLANET_PROCESSOR: Final[dict[str, Any]] = {
    "name": "Planet Labs PBC",
    "roles": ["processor"],
    "url": "https://www.planet.com",
}
ESA: Final[dict[str, Any]] = {
    "name": "European Space Agency (Copernicus Sentinel-2)",
    "roles": ["producer", "licensor"],
    "url": "https://sentinel.esa.int",
}
EEA: Final[dict[str, Any]] = {
    "name": "European Environment Agency (Copernicus Land Monitoring Service)",
    "roles": ["producer", "licensor"],
    "url": "https://land.copernicus.eu/pan-european/corine-land-cover",
}
HOST: Final[dict[str, Any]] = {
    "name": "Radiant Earth Foundation",
    "roles": ["host"],
    "url": "https://radiant.earth",
}

PF_LICENSE: Final = "CC-BY-NC-SA-3.0"
S2_LICENSE_LINK: Final[dict[str, Any]] = {
    "rel": "license",
    "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
    "title": "Copernicus Sentinel data terms and conditions",
}
CLC_LICENSE_LINK: Final[dict[str, Any]] = {
    "rel": "license",
    "href": "https://land.copernicus.eu/en/data-policy",
    "title": "Copernicus Land Monitoring Service data policy",
}
