"""Media types of the files that STAC objects and their assets point at."""

from __future__ import annotations

from typing import Final

JSON: Final = "application/json"
GEOJSON: Final = "application/geo+json"
GEOTIFF: Final = "image/tiff; application=geotiff"
COG: Final = "image/tiff; application=geotiff; profile=cloud-optimized"
PNG: Final = "image/png"
HDF5: Final = "application/x-hdf5"
CSV: Final = "text/csv"
GZIP: Final = "application/gzip"
TFRECORD: Final = "application/x-tfrecord"
SEVEN_ZIP: Final = "application/x-7z-compressed"
SHAPEFILE: Final = "application/vnd.shp"
PARQUET: Final = "application/vnd.apache.parquet"
