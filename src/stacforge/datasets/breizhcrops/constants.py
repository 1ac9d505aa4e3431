"""Fixed facts of BreizhCrops: file layout, regions, split, bands, licenses, the paper."""

from __future__ import annotations

from typing import Any, Final

from stacforge.catalog.labels import Split

NAME: Final = "breizhcrops"

CATALOG_ID: Final = "breizhcrops"
COLLECTION_PREFIX: Final = "breizhcrops_labels_"
"""One label collection per region: ``breizhcrops_labels_<region>``."""

CODES_FILE: Final = "codes.csv"
CLASS_MAPPING_FILE: Final = "classmapping.csv"
RAW_CSV_FOLDER: Final = "csv"
"""Raw per-parcel series sit in ``<year>/<level>/<region>/csv/``."""

DEFAULT_YEAR: Final = 2017
LEVELS: Final = ("L1C", "L2A")
DEFAULT_LEVEL: Final = "L1C"

REGIONS: Final = ("frh01", "frh02", "frh03", "frh04", "belle-ile", "kermaux")
"""The regions the BreizhCrops package knows, in its order (others found on disk follow)."""
SPLITS: Final[dict[str, Split]] = {
    "frh01": "train",
    "frh02": "train",
    "frh03": "validate",
    "frh04": "test",
}
"""The paper's split: Côtes-d'Armor and Finistère train, Ille-et-Vilaine validates, Morbihan
tests; the small extra regions belong to none."""
REGION_NAMES: Final[dict[str, str]] = {
    "frh01": "Côtes-d'Armor",
    "frh02": "Finistère",
    "frh03": "Ille-et-Vilaine",
    "frh04": "Morbihan",
    "belle-ile": "Belle-Île-en-Mer",
    "kermaux": "Kermaux",
}

SOURCE_CRS: Final = "EPSG:2154"
"""Lambert-93: the CRS of the parcel shapefiles (used when a shapefile has no ``.prj``)."""
GRID_CELL: Final = 10_000
"""Metres: items are grouped into sub-collections by 10 km Lambert-93 grid cell."""

PARCEL_ID_FIELDS: Final = ("ID", "ID_PARCEL")
"""The shapefile's parcel id field (``ID_PARCEL`` in the 2018 RPG)."""

INDEX_ID: Final = "id"
INDEX_CODE: Final = "CODE_CULTU"
INDEX_PATH: Final = "path"
INDEX_LENGTH: Final = "sequencelength"
INDEX_CLOUD: Final = ("meanCLD", "meanQA60")
"""The index's mean cloud column (older files: ``meanQA60``)."""
INDEX_OPTIONAL: Final = ("idx", "classid", "classname", "region")

MAPPING_COLUMNS: Final = ("id", "classname", "code")
"""``classmapping.csv`` after its unnamed row-index column."""
CODES_COLUMNS: Final = (
    "Code Culture",
    "Libellé Culture",
    "Code Groupe Culture",
    "Libellé Groupe Culture",
)

BANDS: Final[dict[str, tuple[str, ...]]] = {
    "L1C": (
        "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12",
        "QA10", "QA20", "QA60", "doa",
    ),
    "L2A": (
        "doa", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12", "CLD", "EDG", "SAT",
    ),
}  # fmt: skip
"""Columns of a parcel's HDF5 array, in the BreizhCrops package's order (``doa``: date of
acquisition, nanoseconds since 1970-01-01 in the HDF5, a date string in the raw CSVs)."""
DATE_COLUMN: Final = "doa"
CLOUD_FULL: Final[dict[str, float]] = {"L1C": 1024.0, "L2A": 100.0}
"""The index's mean cloud value of a fully clouded series: L1C averages the QA60 flag (1024 =
opaque cloud), L2A the Sen2Cor cloud probability (percent)."""

BAND_DESCRIPTIONS: Final[dict[str, str]] = {
    "doa": "date of acquisition",
    "QA10": "Sentinel-2 L1C quality band QA10",
    "QA20": "Sentinel-2 L1C quality band QA20",
    "QA60": "Sentinel-2 L1C cloud mask (1024 opaque, 2048 cirrus)",
    "CLD": "Sen2Cor cloud probability (percent)",
    "EDG": "Sen2Cor edge mask",
    "SAT": "Sen2Cor saturated or defective pixel mask",
}
"""Columns that are not mean reflectances of a Sentinel-2 band."""

LABEL_PROPERTY: Final = "classname"
CODE_PROPERTY: Final = "code_cultu"
LABEL_DESCRIPTION: Final = (
    "Crop type of the agricultural parcel declared in the French Land Parcel Identification "
    "System (RPG), grouped into the BreizhCrops classes of classmapping.csv"
)

CATALOG_TITLE: Final = "BreizhCrops"
CATALOG_DESCRIPTION: Final = (
    "Sentinel-2 time series of agricultural parcels in Brittany, France, with their crop type "
    "from the French Land Parcel Identification System (RPG): one item per parcel, its polygon "
    "as geometry and its time series as asset."
)
KEYWORDS: Final = ("crop type", "time series", "Sentinel-2", "RPG", "Brittany", "machine learning")

CITE_AS: Final[dict[str, Any]] = {
    "rel": "cite-as",
    "href": "https://doi.org/10.5194/isprs-archives-XLIII-B2-2020-1545-2020",
    "title": (
        "Rußwurm, M., Pelletier, C., Zollner, M., Lefèvre, S., Körner, M. (2020): BreizhCrops: "
        "A Time Series Dataset for Crop Type Mapping. ISPRS Archives XLIII-B2-2020, 1545-1551"
    ),
}
ABOUT: Final[dict[str, Any]] = {
    "rel": "about",
    "href": "https://github.com/dl4sits/BreizhCrops",
    "type": "text/html",
    "title": "BreizhCrops package and data download",
}
LICENSE_LINKS: Final[tuple[dict[str, Any], ...]] = (
    {
        "rel": "license",
        "href": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "type": "text/html",
        "title": "Licence Ouverte / Open Licence 2.0 (RPG parcels and crop codes)",
    },
    {
        "rel": "license",
        "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
        "title": "Copernicus Sentinel data terms and conditions",
    },
)
PROVIDERS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "Technical University of Munich, Chair of Remote Sensing Technology",
        "roles": ["producer", "processor", "host"],
        "url": "https://github.com/dl4sits/BreizhCrops",
    },
    {
        "name": "IGN / Agence de Services et de Paiement (Registre Parcellaire Graphique)",
        "roles": ["producer", "licensor"],
        "url": "https://geoservices.ign.fr/rpg",
    },
    {
        "name": "European Space Agency (Copernicus Sentinel-2)",
        "roles": ["producer", "licensor"],
        "url": "https://sentinel.esa.int",
    },
)
