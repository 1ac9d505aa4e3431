"""Writes dataset-shaped sample input: real TFRecord files of real ``tf.train.Example``
records (with their CRC32C checksums), some of them inside a ``.7z`` archive, with made-up
pixels, labels and dates.

The layout follows the published dataset: files ``<split>_<tile>_<n>`` (with and without a
leading ``T`` and an extension), series cut into records of at most 100 time steps (so one
``localid`` can own several records), and an archive whose members sit in a folder.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import py7zr
from py7zr.helpers import ArchiveTimestamp

from stacforge.datasets.s2_cloud import example_pb
from stacforge.datasets.s2_cloud.constants import (
    BANDS_PER_STEP,
    DATES,
    IMAGES,
    LABELS,
    LOCALID,
    MAX_GROUP,
    PATCH_SIZE,
    WEIGHTS,
)
from stacforge.datasets.s2_cloud.tfrecord import write_records

ARCHIVE = "s2_cloud_timeseries_part01.7z"
ARCHIVE_FOLDER = "tfrecords"
_ARCHIVE_TIME = ArchiveTimestamp.from_datetime(datetime(2024, 2, 4).timestamp())


@dataclass(frozen=True)
class _File:
    """One TFRecord file of the sample: its split and tile as the file name spells them,
    whether it goes into the archive, and its share of the samples."""

    split: str
    tile: str
    archived: bool
    weight: float
    extension: str = ""
    counts_records: bool = True


# 31UFU first: the issue's example search ("validation samples over tile 31UFU with at least
# one snow observation"); then tiles over China, where the dataset lies (Beijing, Shanghai).
_FILES = (
    _File("val", "31UFU", False, 0.25),
    _File("train", "T31UFU", False, 0.15, ".tfrecord"),
    _File("train", "50TMK", False, 0.2),
    _File("val", "50TMK", True, 0.1),
    _File("train", "51RUQ", True, 0.2),
    _File("val", "51RUQ", True, 0.1, counts_records=False),
)
# Class probabilities of a time step: mostly clear, then the cloud kinds, a little snow.
_CLASS_WEIGHTS = np.array([0.5, 0.2, 0.1, 0.07, 0.08, 0.05])


def write_sample(out: Path, *, count: int = 30, seed: int = 0) -> Path:
    """Writes TFRecord files and one ``.7z`` archive holding ``count`` samples in all.

    Args:
        out: Folder to write into (created if missing).
        count: How many samples (localids); one in five has a long series that is cut into
            two records, as the dataset does past 100 time steps.
        seed: Seed of the made-up content; equal seeds give equal files.

    Returns:
        ``out``, ready to pass to ``stacforge build s2-cloud``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shares = rng.multinomial(count, [f.weight for f in _FILES])
    archived: list[tuple[str, bytes]] = []
    for spec, samples in zip(_FILES, shares.tolist(), strict=True):
        records = [
            example.SerializeToString(deterministic=True)
            for localid in range(samples)
            for example in _examples(localid, rng, snow=spec.tile.endswith("31UFU"))
        ]
        # The file name counts the file's records (what the dataset's own loader reads), or
        # its samples (as the dataset's description says).
        n = len(records) if spec.counts_records else samples
        name = f"{spec.split}_{spec.tile}_{n}{spec.extension}"
        buffer = io.BytesIO()
        write_records(buffer, records)
        if spec.archived:
            archived.append((f"{ARCHIVE_FOLDER}/{name}", buffer.getvalue()))
        else:
            (out / name).write_bytes(buffer.getvalue())
    with py7zr.SevenZipFile(out / ARCHIVE, "w") as archive:
        for member, data in archived:
            archive.writestr(data, member)
            # Fixed member times, so that equal seeds give equal archives.
            info = archive.header.files_info.files[-1]
            for key in ("creationtime", "lastwritetime", "lastaccesstime"):
                info[key] = _ARCHIVE_TIME
    (out / "README.md").write_text(
        "Made-up sample of the Sentinel-2 time-series cloud detection dataset "
        "(stacforge sample s2-cloud).\n",
        encoding="utf-8",
    )
    return out


def _examples(localid: int, rng: np.random.Generator, *, snow: bool) -> Iterator[Any]:
    """The records of one sample: its series, cut into groups of at most 100 time steps."""
    long_series = rng.random() < 0.2
    steps = int(rng.integers(MAX_GROUP + 5, MAX_GROUP + 40) if long_series else rng.integers(3, 25))
    start = date(2018, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
    gaps = rng.choice([5, 5, 5, 10, 15], size=steps)
    dates = np.array([start.toordinal()], dtype="<i8") + np.concatenate(([0], np.cumsum(gaps[1:])))
    weights = _CLASS_WEIGHTS if snow else _CLASS_WEIGHTS[:5] / _CLASS_WEIGHTS[:5].sum()
    labels = rng.choice(len(weights), size=steps, p=weights).astype(np.int8)
    # Smooth patches: one reflectance per band and step plus noise, compressible like imagery.
    level = rng.integers(300, 3000, size=(steps, BANDS_PER_STEP, 1, 1))
    noise = rng.integers(0, 64, size=(steps, BANDS_PER_STEP, PATCH_SIZE, PATCH_SIZE))
    images = (level + noise).astype("<u2")
    for first in range(0, steps, MAX_GROUP):
        group = slice(first, first + MAX_GROUP)
        yield make_example(
            localid, images[group], labels[group], dates[group], np.ones(len(labels[group]))
        )


def make_example(
    localid: int, images: np.ndarray, labels: np.ndarray, dates: np.ndarray, weights: np.ndarray
) -> Any:
    """A ``tf.train.Example`` with the dataset's five features."""
    example = example_pb.Example()
    feature = example.features.feature
    feature[LOCALID].int64_list.value.append(localid)
    feature[IMAGES].bytes_list.value.append(images.astype("<u2").tobytes())
    feature[LABELS].bytes_list.value.append(labels.astype(np.int8).tobytes())
    feature[DATES].bytes_list.value.append(dates.astype("<i8").tobytes())
    feature[WEIGHTS].bytes_list.value.append(weights.astype("<f4").tobytes())
    return example
