"""The s2-cloud builder: TFRecord framing and checksums, tf.train.Example decoding, .7z
streaming, Sentinel-2 tile footprints, dates, class counts, splits, search, and bad input,
all on real TFRecord and 7z bytes."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import py7zr
import pystac
import pytest
import shapely.geometry
from click.testing import CliRunner
from py7zr.io import BytesIOFactory
from pyproj import Transformer

import stacforge
from stacforge.builder import build
from stacforge.cli import cli
from stacforge.datasets.s2_cloud import example_pb
from stacforge.datasets.s2_cloud.constants import LABELS_COLLECTION
from stacforge.datasets.s2_cloud.reader import Input, decode_example, read_input
from stacforge.datasets.s2_cloud.sample import make_example, write_sample
from stacforge.datasets.s2_cloud.tfrecord import (
    Record,
    RecordError,
    RecordSplitter,
    frame,
    masked_crc,
    read_records,
    write_records,
)
from stacforge.datasets.s2_cloud.tiles import parse_tile
from stacforge.errors import InputError

# --- helpers -------------------------------------------------------------------------------


def _series(localid: int, steps: int, *, first: date = date(2019, 3, 1), label: int = 0) -> Any:
    """An Example of ``steps`` time steps, every label ``label``, dates five days apart."""
    start = first.toordinal()
    return make_example(
        localid,
        np.full((steps, 4, 42, 42), 1000 + localid, dtype="<u2"),
        np.full(steps, label, dtype=np.int8),
        np.arange(start, start + 5 * steps, 5, dtype="<i8"),
        np.ones(steps, dtype="<f4"),
    )


def _write(path: Path, examples: list[Any]) -> list[bytes]:
    records = [e.SerializeToString(deterministic=True) for e in examples]
    with path.open("wb") as f:
        write_records(f, records)
    return records


def _offsets(records: list[bytes]) -> list[int]:
    return [int(x) for x in np.cumsum([0] + [len(r) + 16 for r in records[:-1]])]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("s2-cloud-source"), count=30, seed=0)


@pytest.fixture(scope="module")
def catalog(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("s2-cloud-catalog") / "catalog"
    return build("s2-cloud", source, out, workers=2).catalog


@pytest.fixture(scope="module")
def items(catalog: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in catalog.parent.rglob("*.json"):
        document = json.loads(path.read_bytes())
        if document.get("type") == "Feature":
            found[document["id"]] = document
    return found


# --- TFRecord framing ----------------------------------------------------------------------


def test_masked_crc_is_tensorflows() -> None:
    # CRC32C("123456789") = 0xE3069283 (RFC 3720 check value), then TensorFlow's mask.
    crc = 0xE3069283
    assert masked_crc(b"123456789") == ((((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)
    framed = frame(b"abc")
    assert framed[:8] == (3).to_bytes(8, "little")
    assert int.from_bytes(framed[8:12], "little") == masked_crc(framed[:8])
    assert int.from_bytes(framed[-4:], "little") == masked_crc(b"abc")


def test_records_read_back_with_offsets_pulled_or_pushed_in_any_chunks() -> None:
    datas = [b"", b"x" * 5, bytes(range(256)) * 40, b"last"]
    stream = b"".join(frame(d) for d in datas)
    pulled = list(read_records(io.BytesIO(stream)))
    assert [r.data for r in pulled if isinstance(r, Record)] == datas
    assert [r.offset for r in pulled if isinstance(r, Record)] == _offsets(datas)
    assert [r.length for r in pulled if isinstance(r, Record)] == [len(d) + 16 for d in datas]
    for size in (1, 7, 4096, len(stream)):
        splitter = RecordSplitter()
        pushed = [
            r
            for start in range(0, len(stream), size)
            for r in splitter.feed(stream[start : start + size])
        ]
        assert splitter.finish() is None
        assert pushed == pulled


def test_records_written_by_the_tfrecord_package_read_with_checksums(tmp_path: Path) -> None:
    tfrecord = pytest.importorskip("tfrecord")  # an independent writer (crc32c, example_pb2)
    path = tmp_path / "other.tfrecord"
    writer = tfrecord.TFRecordWriter(str(path))
    writer.write({"localid": (7, "int"), "labels": (b"\x00\x05", "byte")})
    writer.close()
    with path.open("rb") as f:
        (record,) = read_records(f)
    assert isinstance(record, Record)
    example = example_pb.Example.FromString(record.data)
    assert list(example.features.feature["localid"].int64_list.value) == [7]
    assert example.features.feature["labels"].bytes_list.value[0] == b"\x00\x05"


def test_a_data_checksum_mismatch_spoils_one_record_and_the_next_ones_read() -> None:
    stream = bytearray(frame(b"first") + frame(b"second") + frame(b"third"))
    stream[len(frame(b"first")) + 12] ^= 0xFF  # a byte of "second"
    results = list(read_records(io.BytesIO(bytes(stream))))
    assert [type(r) for r in results] == [Record, RecordError, Record]
    error = results[1]
    assert isinstance(error, RecordError)
    assert (error.index, error.offset, error.fatal) == (1, 21, False)
    assert "data checksum mismatch" in error.message


def test_a_length_checksum_mismatch_ends_the_stream() -> None:
    stream = bytearray(frame(b"first") + frame(b"second"))
    stream[21] ^= 0x01  # the second record's length
    results = list(read_records(io.BytesIO(bytes(stream))))
    assert isinstance(results[-1], RecordError) and results[-1].fatal
    assert "length checksum mismatch" in results[-1].message


@pytest.mark.parametrize("cut", [3, 12, 17, 21])
def test_a_truncated_record_is_reported_with_where_it_started(cut: int) -> None:
    stream = frame(b"first") + frame(b"second")[:cut]
    results = list(read_records(io.BytesIO(stream)))
    error = results[-1]
    assert isinstance(error, RecordError) and error.fatal and error.offset == 21
    assert "truncated record" in error.message


# --- tf.train.Example --------------------------------------------------------------------


def test_examples_decode_with_the_real_protobuf_runtime() -> None:
    data = _series(42, 3, first=date(2020, 1, 1), label=5).SerializeToString()
    localid, dates, labels = decode_example(data)
    assert localid == 42
    assert [date.fromordinal(d) for d in dates] == [
        date(2020, 1, 1),
        date(2020, 1, 6),
        date(2020, 1, 11),
    ]
    assert labels == b"\x05\x05\x05"


def test_examples_of_tensorflows_own_schema_decode() -> None:
    example_pb2 = pytest.importorskip("tfrecord.example_pb2")  # TensorFlow's generated classes
    theirs = example_pb2.Example.FromString(_series(1, 2).SerializeToString())
    assert decode_example(theirs.SerializeToString())[0] == 1


def _example_with(change: Callable[[Any], None]) -> bytes:
    example = _series(3, 4)
    change(example.features.feature)
    return example.SerializeToString()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.pop("labels"), "no feature labels"),
        (lambda f: f.pop("weights"), "no feature weights"),
        (
            lambda f: f["image_raw_ldseries"].bytes_list.value.__setitem__(0, b"\0" * 100),
            "expected 56448",
        ),
        (lambda f: f["dates"].bytes_list.value.__setitem__(0, b"\0" * 8), "dates holds 8 bytes"),
        (lambda f: f["localid"].bytes_list.value.append(b"1"), "expected int64_list"),
        (lambda f: f["labels"].bytes_list.value.__setitem__(0, b"\x00\x01\x07\x00"), "label 7"),
        (lambda f: f["labels"].bytes_list.value.__setitem__(0, b""), "empty time series"),
        (
            lambda f: f["dates"].bytes_list.value.__setitem__(
                0, np.arange(4, dtype="<i8").tobytes()
            ),
            "date ordinal 0",
        ),
    ],
)
def test_examples_that_break_the_layout_are_refused(
    change: Callable[[Any], None], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        decode_example(_example_with(change))


def test_bytes_that_are_no_example_are_refused() -> None:
    with pytest.raises(ValueError, match=r"not a tf\.train\.Example"):
        decode_example(b"\xff\xff\xff")


# --- 7z streaming ------------------------------------------------------------------------


def test_archive_members_stream_without_touching_the_disk(tmp_path: Path) -> None:
    records = _write(tmp_path / "train_50TMK_3", [_series(i, 10 + i) for i in range(3)])
    archive = tmp_path / "part.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(tmp_path / "train_50TMK_3", "deep/train_50TMK_3")
        z.writestr(b"not a record", "deep/README.txt")
    (tmp_path / "train_50TMK_3").unlink()
    before = sorted(tmp_path.rglob("*"))
    from_archive = read_input(Input(archive, "part.7z", ("deep/train_50TMK_3",)))
    assert sorted(tmp_path.rglob("*")) == before  # nothing extracted
    assert [(s.member, s.localid, s.offset, s.length) for s in from_archive] == [  # type: ignore[union-attr]
        ("deep/train_50TMK_3", i, offset, len(r) + 16)
        for i, (r, offset) in enumerate(zip(records, _offsets(records), strict=True))
    ]


def test_a_file_beside_the_archive_is_read_instead_of_its_member(tmp_path: Path) -> None:
    _write(tmp_path / "val_50TMK_1", [_series(1, 3)])
    with py7zr.SevenZipFile(tmp_path / "a.7z", "w") as z:
        z.write(tmp_path / "val_50TMK_1", "val_50TMK_1")
    result = build("s2-cloud", tmp_path, tmp_path / "out", index=False, workers=1)
    assert result.items == {LABELS_COLLECTION: 1}
    (item,) = (tmp_path / "out").rglob("50tmk_val_1_*.json")
    asset = json.loads(item.read_bytes())["assets"]["record"]
    assert asset["href"].endswith("/val_50TMK_1") and "archive:href" not in asset


def test_a_corrupt_archive_names_the_archive(tmp_path: Path) -> None:
    _write(tmp_path / "train_50TMK_2", [_series(i, 30) for i in range(2)])
    with py7zr.SevenZipFile(tmp_path / "part.7z", "w") as z:
        z.write(tmp_path / "train_50TMK_2", "train_50TMK_2")
    (tmp_path / "train_50TMK_2").unlink()
    data = bytearray((tmp_path / "part.7z").read_bytes())
    for i in range(100, 140):
        data[i] ^= 0x5A
    (tmp_path / "part.7z").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"part\.7z: .*corrupt 7z archive|part\.7z: .*checksum"):
        build("s2-cloud", tmp_path, tmp_path / "out", index=False, workers=1)
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_no_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.7z").write_bytes(b"7z but not really")
    with pytest.raises(InputError, match=r"broken\.7z: not a readable 7z archive"):
        build("s2-cloud", tmp_path, tmp_path / "out", index=False, workers=1)


# --- footprints ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "bounds"),
    [
        # MGRS squares' upper-left corners, snapped out to the 60 m grid, 109.8 km wide.
        ("31UFU", (600000, 5790240, 709800, 5900040)),
        ("T33UUP", (300000, 5290200, 409800, 5400000)),
        ("50TMK", (399960, 4390200, 509760, 4500000)),
        ("51RUQ", (300000, 3390240, 409800, 3500040)),
        ("56HLH", (300000, 6190200, 409800, 6300000)),  # southern hemisphere (Sydney)
        ("34hbh", (199980, 6190200, 309780, 6300000)),  # southern hemisphere (Cape Town)
    ],
)
def test_tile_footprints_in_their_utm_zone(code: str, bounds: tuple[int, ...]) -> None:
    assert parse_tile(code).bounds == bounds


@pytest.mark.parametrize(
    ("code", "lon", "lat"),
    [
        ("31UFU", 4.90, 52.37),  # Amsterdam
        ("50TMK", 116.40, 39.90),  # Beijing
        ("51RUQ", 121.47, 31.23),  # Shanghai
        ("56HLH", 151.21, -33.87),  # Sydney
        ("34HBH", 18.42, -33.93),  # Cape Town
    ],
)
def test_tiles_cover_the_cities_they_are_known_for(code: str, lon: float, lat: float) -> None:
    tile = parse_tile(code)
    x, y = Transformer.from_crs("EPSG:4326", tile.crs, always_xy=True).transform(lon, lat)
    west, south, east, north = tile.bounds
    assert west <= x <= east and south <= y <= north


@pytest.mark.parametrize("code", ["31UZU", "31IFU", "61UFU", "09WTJ", "T3", "31UFUX"])
def test_codes_of_no_tile_are_refused(code: str) -> None:
    with pytest.raises(ValueError):
        parse_tile(code)


def test_item_geometry_is_the_densified_tile_footprint(items: dict[str, dict[str, Any]]) -> None:
    item = next(i for i in items.values() if i["properties"]["grid:code"] == "MGRS-50TMK")
    polygon = shapely.geometry.shape(item["geometry"])
    assert polygon.is_valid and len(item["geometry"]["coordinates"][0]) > 40
    assert polygon.contains(shapely.Point(116.40, 39.90))
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    xs, ys = to_utm.transform(*np.array(item["geometry"]["coordinates"][0]).T)
    assert np.allclose(
        [xs.min(), ys.min(), xs.max(), ys.max()], parse_tile("50TMK").bounds, atol=0.01
    )
    assert item["properties"]["mgrs:utm_zone"] == 50
    assert item["properties"]["mgrs:latitude_band"] == "T"
    assert item["properties"]["mgrs:grid_square"] == "MK"
    assert item["properties"]["proj:code"] == "EPSG:32650"


# --- the catalog: dates, counts, splits, ids, assets -----------------------------------------


def test_every_record_is_an_item_with_its_dates_labels_and_counts(
    source: Path, items: dict[str, dict[str, Any]]
) -> None:
    from stacforge.datasets.s2_cloud.reader import find_inputs

    samples = [s for task in find_inputs(source, invalid=lambda e: None) for s in read_input(task)]
    assert len(samples) == len(items)
    for sample in samples:
        assert not isinstance(sample, InputError)
        first = date.fromordinal(min(sample.dates))
        item = items[
            f"{sample.tile.code.lower()}_{sample.split_key}_{sample.localid}_{first:%Y%m%d}"
        ]
        properties = item["properties"]
        dates = [date.fromordinal(d).isoformat() for d in sample.dates]
        assert properties["s2_cloud:dates"] == dates
        assert properties["start_datetime"] == f"{min(dates)}T00:00:00Z"
        assert properties["end_datetime"] == f"{max(dates)}T23:59:59Z"
        labels = list(sample.labels)
        assert properties["s2_cloud:labels"] == labels
        counts = {c["name"]: c["count"] for c in properties["label:overviews"][0]["counts"]}
        names = ["clear", "opaque_cloud", "thin_cloud", "haze", "cloud_shadow", "snow"]
        assert counts == {name: labels.count(value) for value, name in enumerate(names)}
        assert properties["ml-aoi:split"] == {"train": "train", "val": "validate"}[sample.split_key]
        assert properties["label:classes"] == [{"name": None, "classes": [0, 1, 2, 3, 4, 5]}]
        asset = item["assets"]["record"]
        assert (asset["tfrecord:index"], asset["tfrecord:offset"], asset["tfrecord:length"]) == (
            sample.index,
            sample.offset,
            sample.length,
        )
        assert [b["name"] for b in asset["bands"]] == ["B02", "B03", "B04", B08 := "B08"] and B08


def test_a_long_series_is_kept_apart_by_first_date(items: dict[str, dict[str, Any]]) -> None:
    by_sample: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for item in items.values():
        p = item["properties"]
        by_sample.setdefault((p["grid:code"], p["ml-aoi:split"], p["s2_cloud:localid"]), []).append(
            item
        )
    groups = [g for g in by_sample.values() if len(g) > 1]
    assert groups, "the sample cuts some series into two records"
    for group in groups:
        group.sort(key=lambda i: i["properties"]["start_datetime"])
        assert group[0]["properties"]["s2_cloud:time_steps"] == 100
        assert group[0]["properties"]["end_datetime"] < group[1]["properties"]["start_datetime"]


def test_the_record_asset_leads_to_the_record(source: Path, catalog: Path, tmp_path: Path) -> None:
    # Published at the root of SOURCE, an asset's href, offset and length give the record.
    published = tmp_path / "published"
    shutil.copytree(source, published)
    shutil.copytree(catalog.parent, published, dirs_exist_ok=True)
    item_paths = list((published / LABELS_COLLECTION).rglob("*_*_*_*.json"))
    assert item_paths
    for item_path in item_paths:
        item = json.loads(item_path.read_bytes())
        asset = item["assets"]["record"]
        target = (item_path.parent / asset["href"]).resolve()
        if "archive:href" in asset:
            member, memory = asset["archive:href"], BytesIOFactory(limit=1 << 30)
            with py7zr.SevenZipFile(target) as z:
                z.extract(targets=[member], factory=memory)
            data = memory.get(member).read()
        else:
            data = target.read_bytes()
        start = asset["tfrecord:offset"]
        (record,) = read_records(io.BytesIO(data[start : start + asset["tfrecord:length"]]))
        assert isinstance(record, Record)
        localid, _, _ = decode_example(record.data)
        assert localid == item["properties"]["s2_cloud:localid"]


def test_asset_href_base_prefixes_the_files(source: Path, tmp_path: Path) -> None:
    build(
        "s2-cloud",
        source,
        tmp_path / "out",
        index=False,
        workers=1,
        asset_href_base="https://example.org/s2",
    )
    item = json.loads(next((tmp_path / "out").rglob("31ufu_val_*.json")).read_bytes())
    assert item["assets"]["record"]["href"] == "https://example.org/s2/val_31UFU_10"


def test_collection_summaries_total_the_classes_and_list_the_tiles(
    catalog: Path, items: dict[str, dict[str, Any]]
) -> None:
    collection = pystac.Collection.from_file(
        str(catalog.parent / LABELS_COLLECTION / "collection.json")
    )
    summaries = collection.summaries.to_dict()
    totals = {c["name"]: c["count"] for c in summaries["label:overviews"][0]["counts"]}
    for name in totals:
        assert totals[name] == sum(
            c["count"]
            for item in items.values()
            for c in item["properties"]["label:overviews"][0]["counts"]
            if c["name"] == name
        )
    assert summaries["grid:code"] == ["MGRS-31UFU", "MGRS-50TMK", "MGRS-51RUQ"]
    assert summaries["ml-aoi:split"] == ["train", "validate"]
    assert [c["name"] for c in summaries["classification:classes"]][-1] == "snow"
    tiles = sorted(child.id for child in collection.get_children())
    assert tiles == [
        f"{LABELS_COLLECTION}_31ufu",
        f"{LABELS_COLLECTION}_50tmk",
        f"{LABELS_COLLECTION}_51ruq",
    ]


def test_validation_samples_of_a_tile_with_snow_are_one_search(
    catalog: Path, items: dict[str, dict[str, Any]]
) -> None:
    found = stacforge.open_index(catalog).search(
        filter="\"grid:code\" = 'MGRS-31UFU' AND \"ml-aoi:split\" = 'validate'",
        labels=["snow>=1"],
    )
    expected = sorted(
        i["id"]
        for i in items.values()
        if i["properties"]["grid:code"] == "MGRS-31UFU"
        and i["properties"]["ml-aoi:split"] == "validate"
        and 5 in i["properties"]["s2_cloud:labels"]
    )
    assert expected and sorted(item.id for item in found.items()) == expected


# --- bad input through the build -------------------------------------------------------------


def _bad_source(tmp_path: Path, name: str, examples: list[Any]) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    _write(source / "val_50TMK_3", [_series(i, 5) for i in range(3)])
    records = [e.SerializeToString() for e in examples]
    with (source / name).open("wb") as f:
        write_records(f, records)
    return source


def test_a_bad_record_fails_the_build_with_one_line_naming_file_and_record(
    tmp_path: Path, runner: CliRunner
) -> None:
    source = _bad_source(tmp_path, "train_50TMK_3", [_series(0, 5), _series(1, 5), _series(2, 5)])
    data = bytearray((source / "train_50TMK_3").read_bytes())
    offset = _offsets([_series(i, 5).SerializeToString() for i in range(3)])[2]
    data[offset + 40] ^= 0xFF
    (source / "train_50TMK_3").write_bytes(bytes(data))
    result = runner.invoke(cli, ["build", "s2-cloud", str(source), str(tmp_path / "out")])
    assert result.exit_code != 0
    assert f"train_50TMK_3: record 2 at byte {offset}: data checksum mismatch" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:-30], "truncated record"),
        (lambda data: data + b"\x01\x02", "truncated record"),
    ],
)
def test_truncated_files_fail_the_build(
    tmp_path: Path, damage: Callable[[bytes], bytes], message: str
) -> None:
    source = _bad_source(tmp_path, "train_50TMK_2", [_series(0, 5), _series(1, 5)])
    path = source / "train_50TMK_2"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(InputError, match=rf"train_50TMK_2: record \d at byte \d+: {message}"):
        build("s2-cloud", source, tmp_path / "out", workers=1)


def test_a_record_missing_a_feature_is_skipped_with_skip_invalid(tmp_path: Path) -> None:
    broken = _series(1, 5)
    broken.features.feature.pop("dates")
    source = _bad_source(tmp_path, "train_50TMK_3", [_series(0, 5), broken, _series(2, 5)])
    with pytest.raises(
        InputError, match=r"train_50TMK_3: record 1 at byte \d+: Example has no feature dates"
    ):
        build("s2-cloud", source, tmp_path / "out", workers=1)
    result = build("s2-cloud", source, tmp_path / "out", workers=2, skip_invalid=True)
    assert [e.record for e in result.skipped] == [
        f"record 1 at byte {_offsets([_series(0, 5).SerializeToString()] * 2)[1]}"
    ]
    assert result.items == {LABELS_COLLECTION: 5}


def test_an_image_array_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    short = _series(1, 5)
    short.features.feature["image_raw_ldseries"].bytes_list.value[0] = b"\0" * (4 * 4 * 42 * 42 * 2)
    source = _bad_source(tmp_path, "train_50TMK_1", [short])
    with pytest.raises(
        InputError,
        match=r"record 0 at byte 0: image_raw_ldseries holds 56448 bytes, expected 70560",
    ):
        build("s2-cloud", source, tmp_path / "out", workers=1)


@pytest.mark.parametrize(
    "name", ["test_50TMK_3", "train_50TMK", "train_31UZU_3", "samples.tfrecord"]
)
def test_a_file_name_that_does_not_parse_is_refused(tmp_path: Path, name: str) -> None:
    source = _bad_source(tmp_path, name, [_series(0, 5)])
    with pytest.raises(InputError, match=rf"{name}: "):
        build("s2-cloud", source, tmp_path / "out", workers=1)
    result = build("s2-cloud", source, tmp_path / "out", workers=1, skip_invalid=True)
    assert len(result.skipped) == 1 and result.items == {LABELS_COLLECTION: 3}


def test_a_file_holding_fewer_records_than_its_name_says_is_refused(tmp_path: Path) -> None:
    source = _bad_source(tmp_path, "train_50TMK_4", [_series(0, 5), _series(1, 5)])
    with pytest.raises(InputError, match="file name promises 4 samples, the file holds 2 records"):
        build("s2-cloud", source, tmp_path / "out", workers=1)


def test_a_repeated_record_is_refused(tmp_path: Path) -> None:
    source = _bad_source(tmp_path, "train_50TMK_2", [_series(0, 5), _series(0, 5)])
    with pytest.raises(InputError, match=r"record 1 at byte \d+: a second record of localid 0"):
        build("s2-cloud", source, tmp_path / "out", workers=1)


def test_a_badly_named_archive_member_names_archive_and_member(tmp_path: Path) -> None:
    _write(tmp_path / "train-50TMK-2", [_series(i, 5) for i in range(2)])
    with py7zr.SevenZipFile(tmp_path / "part.7z", "w") as z:
        z.write(tmp_path / "train-50TMK-2", "tfrecords/train-50TMK-2")
        z.writestr(b"about", "tfrecords/README.txt")
    (tmp_path / "train-50TMK-2").unlink()
    with pytest.raises(InputError, match=r"part\.7z: member tfrecords/train-50TMK-2: file name"):
        build("s2-cloud", tmp_path, tmp_path / "out", workers=1)


def test_a_source_without_tfrecords_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing here")
    with pytest.raises(InputError, match="no TFRecord files"):
        build("s2-cloud", tmp_path, tmp_path / "out", workers=1)
