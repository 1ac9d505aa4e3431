"""Every registered dataset keeps the dataset contract: its sample builds into a catalog that
validates offline, whose index answers for every item; bad samples fail the build atomically or
are skipped and reported with ``skip_invalid``. A new dataset gets these tests by registering."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stacforge import datasets, open_index, validate
from stacforge.builder import build
from stacforge.catalog.model import PlacedItem
from stacforge.datasets import BuildOptions, BuildPlan, Dataset
from stacforge.errors import InputError, StacforgeError


@pytest.fixture(scope="module", params=datasets.NAMES)
def dataset(request: pytest.FixtureRequest) -> Dataset:
    return datasets.get(request.param)


@pytest.fixture(scope="module")
def source(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"{dataset.name}-source")
    return dataset.write_sample(folder, count=dataset.sample_count, seed=0)


@pytest.fixture(scope="module")
def catalog(dataset: Dataset, source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(f"{dataset.name}-catalog") / "catalog"
    return build(dataset.name, source, out, workers=2).catalog


def _catalog_items(catalog: Path) -> list[dict[str, Any]]:
    items = []
    for path in catalog.parent.rglob("*.json"):
        document = json.loads(path.read_bytes())
        if document.get("type") == "Feature":
            items.append(document)
    return items


def test_the_sample_builds_a_catalog_that_validates_offline(catalog: Path) -> None:
    report = validate(catalog, allow_download=False)
    assert report.valid, report.summary()
    assert report.summary().startswith("valid")


def test_the_index_answers_for_every_item(catalog: Path) -> None:
    items = _catalog_items(catalog)
    assert items
    index = open_index(catalog.parent)
    assert index.count() == len(items)
    assert sorted(index.ids()) == sorted(item["id"] for item in items)


def test_items_follow_the_catalog_conventions(catalog: Path) -> None:
    for item in _catalog_items(catalog):
        assert item["stac_version"] == "1.1.0"
        # Lowercase for ids stacforge makes; RapidAI4EO keeps the corpus' own sample ids.
        assert re.fullmatch(r"[A-Za-z0-9_-]+", item["id"]), item["id"]
        assert not any(link["rel"] == "self" for link in item["links"])
        properties = item["properties"]
        if "label:type" in properties:
            assert properties["label:description"]
            assert any("labels" in asset.get("roles", ()) for asset in item["assets"].values())
            assert properties.get("label:classes"), f"{item['id']}: no label:classes"


def test_collections_carry_license_providers_and_cite_as(catalog: Path) -> None:
    root = json.loads(catalog.read_bytes())
    for link in root["links"]:
        if link["rel"] != "child":
            continue
        collection = json.loads((catalog.parent / link["href"]).read_bytes())
        assert collection["license"]
        assert collection.get("providers"), collection["id"]
        assert any(li["rel"] == "cite-as" for li in collection["links"]), collection["id"]
        assert collection["extent"]["spatial"]["bbox"][0] != [-180.0, -90.0, 180.0, 90.0]
        roles = [r for asset in collection.get("assets", {}).values() for r in asset["roles"]]
        assert "collection-mirror" in roles


def _with_bad_sample(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the dataset's plan report its second item (of all partitions) as a bad sample."""
    original = dataset.plan

    def plan(source: Path, options: BuildOptions) -> BuildPlan[Any]:
        planned = original(source, options)
        seen = 0

        def items(partition: Any) -> Iterator[PlacedItem]:
            nonlocal seen
            for placed in planned.items(partition):
                seen += 1
                if seen == 2:
                    options.invalid(InputError(source / "bad.file", "made bad", record="row 2"))
                    continue
                yield placed

        return dataclasses.replace(planned, items=items)

    monkeypatch.setattr(datasets, "get", lambda name: dataclasses.replace(dataset, plan=plan))


def test_a_bad_sample_fails_the_build_and_leaves_nothing(
    dataset: Dataset, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_bad_sample(dataset, monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"bad\.file: row 2: made bad"):
        build(dataset.name, source, out)
    assert list(tmp_path.iterdir()) == []


def test_skip_invalid_reports_the_bad_sample_and_builds_the_rest(
    dataset: Dataset, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_bad_sample(dataset, monkeypatch)
    result = build(dataset.name, source, tmp_path / "out", skip_invalid=True)
    assert [str(e) for e in result.skipped] == [f"{source / 'bad.file'}: row 2: made bad"]
    assert sum(result.items.values()) > 0


def test_an_existing_out_needs_overwrite(dataset: Dataset, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(StacforgeError, match="already exists"):
        build(dataset.name, source, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_unknown_dataset_options_are_refused(
    dataset: Dataset, source: Path, tmp_path: Path
) -> None:
    with pytest.raises(StacforgeError, match="has no option"):
        build(dataset.name, source, tmp_path / "out", no_such_option=1)
