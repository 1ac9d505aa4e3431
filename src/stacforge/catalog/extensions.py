"""Schema URLs of the STAC extensions stacforge writes.

Only versions with a schema under ``shared/schemas`` (see its ``schema-map.json``) are used, so
that every built catalog validates offline.
"""

from __future__ import annotations

from typing import Final

LABEL: Final = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
ML_AOI: Final = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"
PROJECTION: Final = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
EO: Final = "https://stac-extensions.github.io/eo/v2.0.0/schema.json"
RASTER: Final = "https://stac-extensions.github.io/raster/v2.0.0/schema.json"
FILE: Final = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
CLASSIFICATION: Final = "https://stac-extensions.github.io/classification/v1.1.0/schema.json"
