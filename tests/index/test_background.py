"""IndexProcess: index writers in a child process write what IndexWriter writes, fail as it
fails, and leave nothing behind when their parent goes away."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from stacforge.errors import InputError, StacforgeError
from stacforge.index import layout
from stacforge.index.background import IndexProcess
from stacforge.index.convert import MAX_DEPTH
from stacforge.index.writer import IndexWriter

Item = dict[str, Any]
MakeItem = Callable[..., Item]

FILES = (layout.ITEMS_FILE, layout.SEARCH_FILE, layout.ASSETS_FILE, layout.LABELS_FILE)


def items(make_item: MakeItem, n: int) -> list[tuple[Item, str]]:
    return [(make_item(f"i{i}", (i * 7) % 40 - 20, (i * 3) % 30), f"i{i}.json") for i in range(n)]


def test_the_same_index_as_a_writer_in_this_process(tmp_path: Path, make_item: MakeItem) -> None:
    added = items(make_item, 700)
    with IndexWriter(tmp_path / "here", source="cat.json", memory_limit=1 << 16) as writer:
        for item, href in added:
            writer.add(item, href)
    with IndexProcess() as process:
        remote = process.open(tmp_path / "there", source="cat.json", memory_limit=1 << 16)
        for i, (item, href) in enumerate(added):
            if i % 2:
                remote.add(item, href)
            else:  # as a catalog writer hands it over: the JSON it wrote
                remote.add_json(orjson.dumps(item), href)
        manifest = remote.close()
    assert manifest.items == 700
    for name in FILES:
        here, there = (pq.read_table(tmp_path / side / name) for side in ("here", "there"))
        assert here.equals(there), name
    for side in ("here", "there"):
        assert sorted(p.name for p in (tmp_path / side).iterdir()) == sorted(
            [*FILES, layout.MANIFEST_FILE]
        )


def test_several_writers_share_one_process(tmp_path: Path, make_item: MakeItem) -> None:
    with IndexProcess() as process:
        writers = [process.open(tmp_path / f"index{k}") for k in range(3)]
        for k, writer in enumerate(writers):
            for item, href in items(make_item, 10 * (k + 1)):
                writer.add(item, href)
        manifests = [writer.close() for writer in writers]
    assert [m.items for m in manifests] == [10, 20, 30]


def test_a_bad_item_fails_the_writer_with_its_file_and_id(
    tmp_path: Path, make_item: MakeItem
) -> None:
    bad = make_item("bad", 0, 0)
    bad["geometry"] = {"type": "Polygon"}
    with IndexProcess() as process:
        writer = process.open(tmp_path / "index")
        writer.add(bad, "/cat/bad.json")
        with pytest.raises(InputError, match="no readable geometry") as raised:
            for item, href in items(make_item, 2000):  # a later add or the close raises
                writer.add(item, href)
            writer.close()
        assert raised.value.path == "/cat/bad.json"
        # The process goes on serving other writers.
        other = process.open(tmp_path / "other")
        other.add(make_item("ok", 0, 0), "ok.json")
        assert other.close().items == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_items_it_cannot_hold_go_to_on_invalid(tmp_path: Path, make_item: MakeItem) -> None:
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    nested = make_item("nested", 0, 0, properties={"deep": deep})
    broken = make_item("broken", 1, 1)
    broken["assets"]["data"]["datetime"] = "soon"
    rejected: list[InputError] = []
    with IndexProcess() as process:
        writer = process.open(tmp_path / "index", on_invalid=rejected.append)
        writer.add(nested, "nested.json")  # refused before it is sent
        writer.add(broken, "broken.json")  # refused in the child
        writer.add(make_item("ok", 2, 2), "ok.json")
        manifest = writer.close()
    assert manifest.items == 1
    assert sorted((e.path, e.record) for e in rejected) == [
        ("broken.json", "item broken"),
        ("nested.json", "item nested"),
    ]


def test_an_existing_index_is_refused(tmp_path: Path, make_item: MakeItem) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "keep").write_text("mine")
    with IndexProcess() as process:
        writer = process.open(tmp_path / "index")
        writer.add(make_item("a", 0, 0), "a.json")
        with pytest.raises(StacforgeError, match="already exists"):
            writer.close()
    assert [p.name for p in (tmp_path / "index").iterdir()] == ["keep"]


def test_an_exception_in_the_block_aborts(tmp_path: Path, make_item: MakeItem) -> None:
    with (
        pytest.raises(RuntimeError),
        IndexProcess() as process,
        process.open(tmp_path / "index", memory_limit=1) as writer,
    ):
        for item, href in items(make_item, 300):
            writer.add(item, href)
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_parent_that_dies_leaves_no_index_behind(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, sys
        from stacforge.index.background import IndexProcess
        process = IndexProcess()
        writer = process.open({str(tmp_path / "index")!r}, memory_limit=1)
        for i in range(500):
            ring = [[i, 0], [i + 1, 0], [i + 1, 1], [i, 1], [i, 0]]
            writer.add({{"type": "Feature", "id": f"i{{i}}", "properties": {{}},
                        "geometry": {{"type": "Polygon", "coordinates": [ring]}}}}, f"i{{i}}.json")
        os._exit(1)  # no cleanup: as if killed
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    # run() returns once every holder of the script's stdout has closed it, the index process
    # too (it inherits it): by then that process has seen its pipe close and aborted.
    assert run.returncode == 1, run.stderr
    assert list(tmp_path.iterdir()) == []
