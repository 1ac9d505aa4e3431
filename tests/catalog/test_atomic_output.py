"""Atomic output where the file system says no: one line naming the path, and nothing left
behind (no ``.OUT.*.partial``, no ``.OUT.*.old``), the old output untouched."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stacforge.catalog.io import atomic_directory
from stacforge.errors import StacforgeError


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Makes ``folder`` refuse changes, also to root (the immutable attribute)."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("this file system has no immutable attribute (chattr)")
        undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    try:
        yield
    finally:
        subprocess.run(undo, check=True)


def _fill(tmp: Path) -> None:
    (tmp / "catalog.json").write_text("{}")


def test_a_read_only_parent_is_one_line(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    with (
        read_only(parent),
        pytest.raises(StacforgeError) as error,
        atomic_directory(parent / "out") as tmp,
    ):
        _fill(tmp)
    assert str(error.value).startswith(str(parent))
    assert "cannot write" in str(error.value) and "\n" not in str(error.value)
    assert list(parent.iterdir()) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_read_only_existing_out_stays_as_it_was(tmp_path: Path, overwrite: bool) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.json").write_text("old")
    with (
        read_only(out),
        pytest.raises(StacforgeError) as error,
        atomic_directory(out, overwrite=overwrite) as tmp,
    ):
        _fill(tmp)
    assert "\n" not in str(error.value)
    assert ("already exists" in str(error.value)) != overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["old.json"]


def test_leftovers_of_a_killed_write_are_removed_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".out.{dead.pid}.abc.partial"
    stale.mkdir()
    (stale / ".stacforge-partial").write_text(str(dead.pid))
    foreign = tmp_path / f".out.{dead.pid}.xyz.partial"  # no marker: not written by us
    foreign.mkdir()
    alive = tmp_path / f".out.{os.getpid()}.def.partial"  # a write still running
    alive.mkdir()
    (alive / ".stacforge-partial").write_text(str(os.getpid()))

    with atomic_directory(out) as tmp:
        _fill(tmp)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", foreign.name, alive.name])
