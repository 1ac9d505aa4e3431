"""BreizhCrops: the join of index, shapefile and HDF5 on parcel id, the reprojected polygons,
class mapping and dropped codes, the split, the dataset options, label search, and bad input
with real shapefile, HDF5 and CSV bytes."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer

import stacforge
from stacforge import open_index, validate
from stacforge.builder import build
from stacforge.cli import cli
from stacforge.datasets.breizhcrops import constants
from stacforge.datasets.breizhcrops.reader import CropCode, read_crop_codes
from stacforge.datasets.breizhcrops.sample import CLASSES, DROPPED_CODES, write_root
from stacforge.errors import InputError, StacforgeError

COUNT = 40


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_root(tmp_path_factory.mktemp("breizhcrops") / "root", count=COUNT, seed=3)


@pytest.fixture(scope="module")
def catalog(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("breizhcrops-catalog") / "out"
    return build("breizhcrops", source, out, workers=2).catalog.parent


def _copy(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "root"))


def _items(catalog: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(catalog.rglob("*.json")):
        document = json.loads(path.read_bytes())
        if document.get("type") == "Feature":
            found.append(document)
    return found


def _collection(catalog: Path, region: str) -> dict[str, Any]:
    path = catalog / f"breizhcrops_labels_{region}" / "collection.json"
    document: dict[str, Any] = json.loads(path.read_bytes())
    return document


def _index_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _shapefile(path: Path) -> dict[str, shapely.Geometry]:
    _, _, wkb, fields = pyogrio.raw.read(path, columns=["ID"])
    return {str(i): shapely.from_wkb(g) for i, g in zip(fields[0], wkb, strict=True)}


def _rewrite_shapefile(path: Path, change: dict[str, bytes | None]) -> None:
    """Rewrites a shapefile with the geometries of some parcel ids replaced."""
    _, _, wkb, fields = pyogrio.raw.read(path)
    ids = [str(v) for v in fields[0]]
    geometries = np.array([change.get(i, g) for i, g in zip(ids, wkb, strict=True)])
    for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        path.with_suffix(suffix).unlink(missing_ok=True)
    pyogrio.raw.write(
        path, geometries, fields, ["ID", "CODE_CULTU"], geometry_type="MultiPolygon",
        crs="EPSG:2154", encoding="UTF-8",
    )  # fmt: skip


def _kept_row(source: Path, region: str = "frh01") -> dict[str, str]:
    kept = {code for _, codes in CLASSES for code in codes}
    rows = _index_rows(source / "2017" / "L1C" / f"{region}.csv")
    return next(row for row in rows if row["CODE_CULTU"] in kept)


def test_the_catalog_validates_and_holds_one_item_per_kept_parcel(
    source: Path, catalog: Path
) -> None:
    assert validate(catalog / "catalog.json", allow_download=False).valid
    items = _items(catalog)
    assert len(items) == COUNT
    kept = {code for _, codes in CLASSES for code in codes}
    expected = set()
    for region in ("frh01", "frh02", "frh03", "frh04", "belle-ile"):
        for row in _index_rows(source / "2017" / "L1C" / f"{region}.csv"):
            if row["CODE_CULTU"] in kept:
                expected.add((region, row["id"]))
    assert {
        (i["properties"]["breizhcrops:region"], i["properties"]["breizhcrops:parcel_id"])
        for i in items
    } == expected


def test_geometry_is_the_exact_parcel_polygon_in_lonlat_joined_on_parcel_id(
    source: Path, catalog: Path
) -> None:
    to_lonlat = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    polygons = {}
    for region in ("frh01", "frh02", "frh03", "frh04", "belle-ile"):
        in_shapefile = _shapefile(source / "2017" / f"{region}.shp")
        in_index = [row["id"] for row in _index_rows(source / "2017" / "L1C" / f"{region}.csv")]
        assert sorted(in_index) == sorted(in_shapefile)
        assert len(in_index) < 3 or in_index != list(in_shapefile)  # the join cannot rely on order
        polygons.update(in_shapefile)
    kinds = Counter()
    for item in _items(catalog):
        expected = shapely.transform(
            polygons[item["properties"]["breizhcrops:parcel_id"]],
            lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])),
        )
        geometry = shapely.geometry.shape(item["geometry"])
        assert shapely.equals_exact(geometry, expected, tolerance=1e-12)
        assert item["bbox"] == pytest.approx(list(expected.bounds))
        kinds[geometry.geom_type] += 1
        if geometry.geom_type == "Polygon" and geometry.interiors:
            kinds["with hole"] += 1
    assert kinds["MultiPolygon"] and kinds["with hole"] and kinds["Polygon"]


def test_class_mapping_codes_and_labels(source: Path, catalog: Path) -> None:
    class_ids = {name: k for k, (name, _) in enumerate(CLASSES)}
    code_class = {code: name for name, codes in CLASSES for code in codes}
    for item in _items(catalog):
        p = item["properties"]
        assert p["classname"] == code_class[p["code_cultu"]]
        assert p["classid"] == class_ids[p["classname"]]
        assert p["libelle_cultu"]
        assert p["label:type"] == "vector"
        assert p["label:tasks"] == ["classification"]
        assert p["label:properties"] == ["classname", "code_cultu"]
        classes = {entry["name"]: entry["classes"] for entry in p["label:classes"]}
        assert classes["classname"] == [name for name, _ in CLASSES]
        assert classes["code_cultu"] == sorted(code_class)
        assert p["label:overviews"][0]["counts"] == [{"name": p["classname"], "count": 1}]
        roles = {key: asset["roles"] for key, asset in item["assets"].items()}
        assert roles["labels"] == ["labels", "labels-vector"]
    wheat = [i for i in _items(catalog) if i["properties"]["code_cultu"] == "BTH"]
    assert not wheat or wheat[0]["properties"]["libelle_cultu"] == "Blé tendre d'hiver"


def test_parcels_with_unmapped_codes_are_dropped_and_reported(source: Path, tmp_path: Path) -> None:
    rows = _index_rows(source / "2017" / "L1C" / "frh02.csv")
    dropped = [row for row in rows if row["CODE_CULTU"] in DROPPED_CODES]
    assert dropped
    out = build("breizhcrops", source, tmp_path / "out", regions="frh02", workers=1)
    ids = {i["properties"]["breizhcrops:parcel_id"] for i in _items(out.catalog.parent)}
    assert not ids & {row["id"] for row in dropped}
    (warning,) = [w for w in out.warnings if "dropped" in w]
    assert f"dropped {len(dropped)} parcel(s) whose crop code is not in classmapping.csv" in (
        warning
    )


def test_collections_summarise_class_counts_split_and_cite_the_paper(catalog: Path) -> None:
    items = _items(catalog)
    splits = {"frh01": "train", "frh02": "train", "frh03": "validate", "frh04": "test"}
    for region in ("frh01", "frh02", "frh03", "frh04", "belle-ile"):
        collection = _collection(catalog, region)
        mine = [i for i in items if i["properties"]["breizhcrops:region"] == region]
        counts = Counter(i["properties"]["classname"] for i in mine)
        overview = collection["summaries"]["label:overviews"][0]
        assert overview["property_key"] == "classname"
        assert {e["name"]: e["count"] for e in overview["counts"] if e["count"]} == counts
        cite = [link for link in collection["links"] if link["rel"] == "cite-as"]
        assert cite[0]["href"].endswith("10.5194/isprs-archives-XLIII-B2-2020-1545-2020")
        split = splits.get(region)
        assert {i["properties"].get("ml-aoi:split") for i in mine} == {split}
        assert collection["summaries"].get("ml-aoi:split") == ([split] if split else None)


def test_time_series_asset_hdf5_key_or_raw_csv_dates_and_length(
    source: Path, catalog: Path
) -> None:
    for item in _items(catalog):
        p, asset = item["properties"], item["assets"]["timeseries"]
        region = p["breizhcrops:region"]
        row = next(
            r
            for r in _index_rows(source / "2017" / "L1C" / f"{region}.csv")
            if r["id"] == p["breizhcrops:parcel_id"]
        )
        assert p["breizhcrops:sequencelength"] == int(row["sequencelength"])
        assert p["eo:cloud_cover"] == pytest.approx(
            min(100.0, float(row["meanCLD"]) / 1024 * 100), abs=1e-3
        )
        assert [b["name"] for b in asset["bands"]] == list(constants.BANDS["L1C"])
        # Relative hrefs are for a catalog published at the BreizhCrops root.
        item_dir = next(catalog.rglob(f"{item['id']}.json")).parent
        target = source / (item_dir / asset["href"]).resolve().relative_to(catalog.resolve())
        if region in ("frh04", "belle-ile"):  # raw CSVs written for these
            assert asset["type"] == "text/csv"
            assert target == source / "2017/L1C" / region / "csv" / f"{row['id']}.csv"
            dates = sorted(r["doa"] for r in _index_rows(target))
            assert p["start_datetime"][:10] == dates[0]
            assert p["end_datetime"][:10] == dates[-1]
        else:
            assert asset["type"] == "application/x-hdf5"
            assert asset["hdf5:dataset"] == row["path"]
            assert target == source / "2017/L1C" / f"{region}.h5"
            with h5py.File(target) as h5:
                doa = h5[row["path"]][:, constants.BANDS["L1C"].index("doa")]
            first = np.datetime64(int(doa.min()), "ns").astype("datetime64[s]")
            assert p["start_datetime"] == f"{first}Z"
            assert len(doa) == p["breizhcrops:sequencelength"]


def test_label_search_by_class_name_and_crop_code(catalog: Path) -> None:
    index = open_index(catalog)
    items = _items(catalog)
    target = next(i for i in items if i["properties"]["breizhcrops:region"] == "frh04")
    name, code = target["properties"]["classname"], target["properties"]["code_cultu"]
    expected = {
        i["id"]
        for i in items
        if i["properties"]["classname"] == name and i["properties"]["breizhcrops:region"] == "frh04"
    }
    bbox = _collection(catalog, "frh04")["extent"]["spatial"]["bbox"][0]
    frh04 = "breizhcrops_labels_frh04"
    assert set(index.ids(labels=f"{name}>0", bbox=bbox, collections=frh04)) == expected
    assert set(index.ids(filter=f"classname = '{name}'", collections=frh04)) == expected
    by_code = set(index.ids(labels=f"{code}>=1"))
    assert by_code == {i["id"] for i in items if i["properties"]["code_cultu"] == code}
    assert set(index.ids(filter=f"code_cultu = '{code}'")) == by_code


def test_regions_and_level_options(source: Path, tmp_path: Path) -> None:
    result = build(
        "breizhcrops", source, tmp_path / "out", regions=["frh04", "frh03"], level="L2A", workers=1
    )
    assert set(result.items) == {"breizhcrops_labels_frh04", "breizhcrops_labels_frh03"}
    item = _items(result.catalog.parent)[0]
    assert item["properties"]["breizhcrops:level"] == "L2A"
    assert [b["name"] for b in item["assets"]["timeseries"]["bands"]] == list(
        constants.BANDS["L2A"]
    )
    assert "_l2a_" in item["id"]
    with pytest.raises(StacforgeError, match="--level"):
        build("breizhcrops", source, tmp_path / "bad", level="L3")


def test_year_2018_with_id_parcel_field(tmp_path: Path) -> None:
    root = write_root(tmp_path / "root", count=6, year=2018, levels=("L1C",), id_field="ID_PARCEL")
    result = build("breizhcrops", root, tmp_path / "out", year=2018, workers=1)
    assert sum(result.items.values()) == 6
    assert all(i["properties"]["start_datetime"] >= "2018" for i in _items(result.catalog.parent))
    with pytest.raises(InputError, match=r"2017.*missing folder"):
        build("breizhcrops", root, tmp_path / "none")


def test_a_missing_region_is_an_error(source: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"frh09\.csv: missing file"):
        build("breizhcrops", source, tmp_path / "out", regions="frh09")


# Bad input: each fails the build with one line naming file and parcel, or is skipped.


def _fails_then_skips(root: Path, tmp_path: Path, pattern: str, region: str = "frh01") -> None:
    out = tmp_path / "out"
    with pytest.raises(InputError, match=pattern) as error:
        build("breizhcrops", root, out, regions=region, workers=1)
    assert "\n" not in str(error.value)
    assert not out.exists()
    result = build("breizhcrops", root, out, regions=region, skip_invalid=True, workers=2)
    assert len(result.skipped) == 1
    kept = {code for _, codes in CLASSES for code in codes}
    rows = _index_rows(root / "2017" / "L1C" / f"{region}.csv")
    assert sum(result.items.values()) == sum(r["CODE_CULTU"] in kept for r in rows) - 1


def test_index_row_pointing_at_a_missing_hdf5_dataset(source: Path, tmp_path: Path) -> None:
    root = _copy(source, tmp_path)
    row = _kept_row(root)
    with h5py.File(root / "2017" / "L1C" / "frh01.h5", "a") as h5:
        del h5[row["path"]]
    _fails_then_skips(root, tmp_path, rf"frh01\.h5: parcel {row['id']}: no dataset")


def test_parcel_without_geometry_in_the_shapefile(source: Path, tmp_path: Path) -> None:
    root = _copy(source, tmp_path)
    row = _kept_row(root)
    _rewrite_shapefile(root / "2017" / "frh01.shp", {row["id"]: None})
    _fails_then_skips(root, tmp_path, rf"frh01\.shp: parcel {row['id']}: no geometry")


def test_index_parcel_missing_from_the_shapefile(source: Path, tmp_path: Path) -> None:
    root = _copy(source, tmp_path)
    index = root / "2017" / "L1C" / "frh01.csv"
    row = _kept_row(root)
    index.write_text(index.read_text().replace(f",{row['id']},", ",999999999,", 1))
    _fails_then_skips(root, tmp_path, r"frh01\.csv: line \d+: parcel 999999999 has no polygon")


def _ring_wkb(points: list[tuple[float, float]]) -> bytes:
    """A polygon's WKB with one ring, as given (GEOS would refuse to build some of them)."""
    coordinates = b"".join(struct.pack("<dd", x, y) for x, y in points)
    return struct.pack("<BIII", 1, 3, 1, len(points)) + coordinates


@pytest.mark.parametrize(
    ("ring", "reason"),
    [
        (  # a bow tie
            [(250_000, 6_830_000), (250_100, 6_830_100), (250_100, 6_830_000),
             (250_000, 6_830_100), (250_000, 6_830_000)],
            "Self-intersection",
        ),
        (  # a ring of three points: no area
            [(250_000, 6_830_000), (250_100, 6_830_100), (250_000, 6_830_000)],
            "Too few points",
        ),
    ],
)  # fmt: skip
def test_parcel_with_an_invalid_ring(
    source: Path, tmp_path: Path, ring: list[tuple[float, float]], reason: str
) -> None:
    root = _copy(source, tmp_path)
    row = _kept_row(root)
    _rewrite_shapefile(root / "2017" / "frh01.shp", {row["id"]: _ring_wkb(ring)})
    _fails_then_skips(root, tmp_path, rf"frh01\.shp: parcel {row['id']}: invalid ring \({reason}")


def test_unreadable_shapefile(source: Path, tmp_path: Path) -> None:
    root = _copy(source, tmp_path)
    (root / "2017" / "frh02.shp").write_bytes(b"not a shapefile at all" * 10)
    with pytest.raises(InputError, match=r"frh02\.shp: unreadable shapefile"):
        build("breizhcrops", root, tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()


def test_class_mapping_with_unknown_columns(source: Path, tmp_path: Path) -> None:
    root = _copy(source, tmp_path)
    mapping = root / "classmapping.csv"
    lines = mapping.read_text().splitlines()
    mapping.write_text("\n".join([lines[0] + ",weight", *(line + ",1" for line in lines[1:])]))
    with pytest.raises(InputError, match=r"classmapping\.csv: line 1: unknown columns weight"):
        build("breizhcrops", root, tmp_path / "out", workers=1)


def test_index_with_missing_columns(source: Path, tmp_path: Path) -> None:
    root = _copy(source, tmp_path)
    index = root / "2017" / "L1C" / "frh03.csv"
    index.write_text(index.read_text().replace("sequencelength", "length", 1))
    with pytest.raises(InputError, match=r"frh03\.csv: line 1: missing columns sequencelength"):
        build("breizhcrops", root, tmp_path / "out", workers=1)


REAL_CODES = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "breizhcrops"


@pytest.mark.skipif(
    not (REAL_CODES / "codes.csv").is_file(), reason="no shared/realworld/breizhcrops/codes.csv"
)
def test_the_published_codes_file_reads_with_its_accents() -> None:
    codes = read_crop_codes(REAL_CODES)
    assert len(codes) > 300
    assert codes["BTH"] == CropCode("BTH", "Blé tendre d'hiver", "1", "Blé tendre")
    assert codes["PPH"].group_label == "Prairies permanentes"


def test_the_command_reports_dropped_parcels_and_builds(source: Path, tmp_path: Path) -> None:
    # A real process: the build's warnings reach stderr as "warning: ..." lines.
    command = [sys.executable, "-m", "stacforge.cli", "build", "breizhcrops", str(source),
               str(tmp_path / "out"), "--regions", "frh03", "--workers", "1"]  # fmt: skip
    src = Path(stacforge.__file__).parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    dropped = [line for line in done.stderr.splitlines() if "dropped" in line]
    assert len(dropped) == 1
    assert re.search(
        r"frh03\.csv: dropped \d+ parcel\(s\) whose crop code is not in classmapping\.csv",
        dropped[0],
    )
    assert done.stdout.startswith("built ")


def test_the_command_fails_in_one_line_on_bad_input(source: Path, tmp_path: Path) -> None:
    root = _copy(source, tmp_path)
    (root / "classmapping.csv").write_text(",id,classname,code,extra\n0,0,wheat,BTH,1\n")
    result = CliRunner().invoke(
        cli, ["build", "breizhcrops", str(root), str(tmp_path / "out"), "--workers", "1"]
    )
    assert result.exit_code != 0
    assert "classmapping.csv: line 1: unknown columns extra" in result.output
    assert "Traceback" not in result.output
