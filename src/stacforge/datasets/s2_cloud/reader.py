"""Reads the dataset's TFRecord files, extracted or inside its ``.7z`` archives, into samples.

SOURCE is searched recursively for TFRecord files named ``<split>_<tile>_<n>`` and for ``.7z``
archives holding such files. Archives are never extracted to disk: py7zr decompresses each
member into a sink (a ``py7zr.io.Py7zIO`` made by a ``WriterFactory``) that hands the bytes,
chunk by chunk as they come out of the decompressor, to a TFRecord splitter, so at most one
record of a member is in memory. A member that also sits extracted in SOURCE is read from the
extracted file only.

:func:`read_input` reads one file or archive and returns small per-record summaries (no
pixels), so that :func:`stacforge.parallel.ordered_map` can read many in parallel.
"""

from __future__ import annotations

import ctypes
import functools
import lzma
import platform
import posixpath
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import py7zr
import py7zr.exceptions
from google.protobuf.message import DecodeError
from py7zr.io import Py7zIO, WriterFactory

from stacforge.catalog.labels import Split
from stacforge.datasets.s2_cloud import example_pb
from stacforge.datasets.s2_cloud.constants import (
    ARCHIVE_SUFFIX,
    CLASSES,
    DATES,
    FEATURES,
    FILE_NAME,
    IMAGES,
    LABELS,
    LOCALID,
    SENTINEL2_START,
    SPLITS,
    STEP_BYTES,
    TFRECORD_PREFIXES,
    TFRECORD_SUFFIXES,
    WEIGHTS,
)
from stacforge.datasets.s2_cloud.tfrecord import Record, RecordError, RecordSplitter, read_records
from stacforge.datasets.s2_cloud.tiles import Tile, parse_tile
from stacforge.errors import InputError

_READ_ERRORS = (
    py7zr.exceptions.ArchiveError,
    py7zr.exceptions.PasswordRequired,
    py7zr.exceptions.AbsolutePathError,
    lzma.LZMAError,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
)
"""What py7zr raises on corrupt or truncated archives (its own errors, and its decoders' and
header parser's, which it does not wrap)."""
_LAST_ORDINAL = date.max.toordinal()
_FIRST_ORDINAL = SENTINEL2_START.toordinal()
_NUMBER_OF_CLASSES = len(CLASSES)


@dataclass(frozen=True, slots=True)
class TFRecordName:
    """What a TFRecord file's name says: ``val_50TMK_500`` is 500 validation samples of tile
    50TMK."""

    name: str
    split: Split
    tile: Tile
    count: int

    @property
    def split_key(self) -> str:
        """The split as the file name spells it (``train`` or ``val``), for ids."""
        return self.name.split("_", 1)[0].lower()


@dataclass(frozen=True, slots=True)
class Input:
    """One thing to read: a TFRecord file, or an archive and the TFRecord members to read.

    Attributes:
        path: The file on disk.
        href: Its path relative to SOURCE (``/``-separated), for asset hrefs.
        members: For an archive, the TFRecord members to read, by name; empty for a file.
    """

    path: Path
    href: str
    members: tuple[str, ...] = ()

    @property
    def is_archive(self) -> bool:
        """Whether this is a ``.7z`` archive (else a TFRecord file)."""
        return self.path.name.lower().endswith(ARCHIVE_SUFFIX)


@dataclass(frozen=True, slots=True)
class Sample:
    """One record of the dataset: one sample's series (or one group of at most 100 time steps
    of it), without its pixels.

    Attributes:
        href: The TFRecord file (or archive) relative to SOURCE.
        member: The TFRecord member in the archive ``href``; None for a plain file.
        file: The TFRecord file's name.
        split: ``train`` or ``validate``.
        split_key: The split as the file name spells it (``train``, ``val``).
        tile: The Sentinel-2 tile.
        index: The record's position in its TFRecord file, from 0.
        offset: Byte offset of the record in the TFRecord file.
        length: Bytes of the framed record.
        localid: The sample id, unique in its tile.
        dates: Proleptic Gregorian ordinals (``date.fromordinal``), one per time step.
        labels: One class value per time step (``labels``, int8).
    """

    href: str
    member: str | None
    file: str
    split: Split
    split_key: str
    tile: Tile
    index: int
    offset: int
    length: int
    localid: int
    dates: tuple[int, ...]
    labels: bytes


def parse_file_name(name: str) -> TFRecordName:
    """What the TFRecord file called ``name`` (a base name) holds.

    Raises:
        ValueError: The name is not ``<train|val>_<tile>_<n>[.ext]`` with a valid tile.
    """
    match = FILE_NAME.match(name)
    if match is None:
        raise ValueError(
            f"file name {name!r} is not <train|val>_<tile>_<number of samples>[.extension]"
        )
    tile = parse_tile(match["tile"])
    return TFRecordName(name, SPLITS[match["split"].lower()], tile, int(match["count"]))


def find_inputs(source: Path, *, invalid: Callable[[InputError], None]) -> list[Input]:
    """The TFRecord files and archives below ``source``, in path order.

    A file or archive member without extension or with a TFRecord one (``.tfrecord``...), or
    whose name starts with ``train_`` or ``val_``, is taken for a TFRecord file and must be
    named ``<split>_<tile>_<n>``; other files (``README.md``, checksums, a catalog published
    beside the data) and hidden ones are left alone.

    Raises:
        InputError: Nothing to read; or (through ``invalid``, which may skip it instead) a
            badly named file or member, or an archive whose header cannot be read.
    """
    files: list[Path] = []
    archives: list[Path] = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() == ARCHIVE_SUFFIX:
            archives.append(path)
        elif _is_tfrecord_file(path.name, functools.partial(_refuse, invalid, path, None)):
            files.append(path)
    if not files and not archives:
        raise InputError(
            source, "no TFRecord files (<train|val>_<tile>_<n>) or .7z archives in this folder"
        )
    extracted = {path.name for path in files}
    inputs = [Input(path, path.relative_to(source).as_posix()) for path in files]
    for path in archives:
        members = _archive_members(path, invalid)
        if members is None:
            continue
        wanted = tuple(m for m in members if posixpath.basename(m) not in extracted)
        if wanted:
            inputs.append(Input(path, path.relative_to(source).as_posix(), wanted))
    inputs.sort(key=lambda i: i.href)
    return inputs


def _is_tfrecord_file(name: str, refuse: Callable[[str], None]) -> bool:
    """Whether ``name`` is a TFRecord file to read; ``refuse`` hears why a name that should
    be one is not."""
    suffix = posixpath.splitext(name)[1].lower()
    if suffix not in TFRECORD_SUFFIXES and not name.lower().startswith(TFRECORD_PREFIXES):
        return False
    try:
        parse_file_name(name)
    except ValueError as error:
        refuse(str(error))
        return False
    return True


def _archive_members(path: Path, invalid: Callable[[InputError], None]) -> list[str] | None:
    """The TFRecord members of the archive at ``path`` (read from its header only)."""
    try:
        with py7zr.SevenZipFile(path) as archive:
            names = [f.filename for f in archive.files if not f.is_directory]
    except _READ_ERRORS as error:
        invalid(InputError(path, f"not a readable 7z archive ({_describe(error)})"))
        return None
    members = []
    for name in names:
        refuse = functools.partial(_refuse, invalid, path, f"member {name}")
        if _is_tfrecord_file(posixpath.basename(name), refuse):
            members.append(name)
    if not members and names:
        invalid(InputError(path, "holds no TFRecord file named <train|val>_<tile>_<n>"))
    return members


def _refuse(
    invalid: Callable[[InputError], None], path: Path, record: str | None, error: str
) -> None:
    invalid(InputError(path, error, record=record))


def read_input(task: Input) -> list[Sample | InputError]:
    """Reads every record of one TFRecord file or of the TFRecord members of one archive.

    Bad records come back as :class:`InputError` in their place (for the caller to raise or
    skip); a file's framing error ends that file's records.
    """
    _keep_freed_memory()
    if task.is_archive:
        return _read_archive(task)
    name = parse_file_name(task.path.name)
    results: list[Sample | InputError] = []
    try:
        with task.path.open("rb") as stream:
            decoder = _StreamDecoder(task, None, name, results)
            decoder.add(read_records(stream))
            decoder.close()
    except OSError as error:
        results.append(InputError(task.path, f"unreadable ({_describe(error)})"))
    return results


def _read_archive(task: Input) -> list[Sample | InputError]:
    sinks = _SinkFactory(task)
    try:
        with task.path.open("rb") as stream, py7zr.SevenZipFile(stream) as archive:
            # An open stream, not a path: py7zr then decompresses the archive's folders one
            # after the other in this process instead of in a thread per folder.
            archive.extractall(factory=sinks)
        sinks.close()
    except _READ_ERRORS as error:
        where = sinks.current
        sinks.error = InputError(
            task.path,
            f"corrupt 7z archive ({_describe(error)})",
            record=f"member {where}" if where else None,
        )
    return sinks.results()


class _StreamDecoder:
    """Decodes the records of one TFRecord stream into samples and errors, in order."""

    def __init__(
        self,
        task: Input,
        member: str | None,
        name: TFRecordName,
        results: list[Sample | InputError],
    ) -> None:
        self._task = task
        self._member = member
        self._name = name
        self._results = results
        self._records = 0
        self._localids: set[int] = set()
        self.failed = False

    def add(self, found: Iterable[Record | RecordError]) -> None:
        for result in found:
            if isinstance(result, RecordError):
                self.failed = self.failed or result.fatal
                self._results.append(self._error(result.message, result.index, result.offset))
                continue
            self._records += 1
            self._results.append(self._sample(result))

    def close(self) -> None:
        """Checks the record count against the file name's, once the stream ended cleanly."""
        name = self._name
        if self.failed or name.count in (self._records, len(self._localids)):
            return
        self._results.append(
            self._error(
                f"the file name promises {name.count} samples, the file holds {self._records} "
                f"records of {len(self._localids)} samples"
            )
        )

    def _sample(self, record: Record) -> Sample | InputError:
        try:
            localid, dates, labels = decode_example(record.data)
        except ValueError as error:
            return self._error(str(error), record.index, record.offset)
        self._localids.add(localid)
        name = self._name
        return Sample(
            href=self._task.href,
            member=self._member,
            file=name.name,
            split=name.split,
            split_key=name.split_key,
            tile=name.tile,
            index=record.index,
            offset=record.offset,
            length=record.length,
            localid=localid,
            dates=dates,
            labels=labels,
        )

    def _error(
        self, message: str, index: int | None = None, offset: int | None = None
    ) -> InputError:
        where = [] if self._member is None else [f"member {self._member}"]
        if index is not None:
            where.append(f"record {index} at byte {offset}")
        return InputError(self._task.path, message, record=", ".join(where) or None)


def decode_example(data: bytes) -> tuple[int, tuple[int, ...], bytes]:
    """The ``localid``, date ordinals and labels of one serialized ``tf.train.Example``, after
    checking every feature against the dataset's layout.

    Raises:
        ValueError: Not an Example, a feature missing or of the wrong kind, array sizes that do
            not agree with T x 4 x 42 x 42, labels outside 0-5, dates before Sentinel-2.
    """
    try:
        example = example_pb.Example.FromString(data)
    except DecodeError as error:
        raise ValueError(f"not a tf.train.Example ({error})") from None
    features = example.features.feature
    if missing := [name for name in FEATURES if name not in features]:
        raise ValueError(f"Example has no feature {', '.join(missing)}")
    localid = _one(features[LOCALID], LOCALID, "int64_list")
    labels, dates_raw, images, weights = (
        _one(features[name], name, "bytes_list") for name in (LABELS, DATES, IMAGES, WEIGHTS)
    )
    steps = len(labels)
    if not steps:
        raise ValueError("empty time series (labels holds no time step)")
    if len(dates_raw) != 8 * steps:
        raise ValueError(
            f"dates holds {len(dates_raw)} bytes, expected {8 * steps} (int64 for each of "
            f"the {steps} time steps of labels)"
        )
    if len(images) != steps * STEP_BYTES:
        raise ValueError(
            f"{IMAGES} holds {len(images)} bytes, expected {steps * STEP_BYTES} "
            f"(uint16 of shape {steps} x 4 x 42 x 42)"
        )
    if len(weights) % 4:
        raise ValueError(f"{WEIGHTS} holds {len(weights)} bytes, not a float32 array")
    if localid < 0:
        raise ValueError(f"{LOCALID} is {localid}, not a sample id")
    values = np.frombuffer(labels, dtype=np.int8)
    if (bad := values[(values < 0) | (values >= _NUMBER_OF_CLASSES)]).size:
        raise ValueError(f"label {int(bad[0])} is not a class (0 to {_NUMBER_OF_CLASSES - 1})")
    ordinals = np.frombuffer(dates_raw, dtype="<i8")
    if (early := ordinals[(ordinals < _FIRST_ORDINAL) | (ordinals > _LAST_ORDINAL)]).size:
        raise ValueError(
            f"date ordinal {int(early[0])} is not a date since Sentinel-2's launch "
            f"({SENTINEL2_START.isoformat()} is {_FIRST_ORDINAL})"
        )
    return int(localid), tuple(ordinals.tolist()), bytes(labels)


def _one(feature: Any, name: str, kind: str) -> Any:
    """The single value of a feature of ``kind``, as the dataset's FixedLenFeature([]) reads."""
    found = feature.WhichOneof("kind")
    if found != kind:
        raise ValueError(f"feature {name} is a {found or 'empty feature'}, expected {kind}")
    values = getattr(feature, kind).value
    if len(values) != 1:
        raise ValueError(f"feature {name} holds {len(values)} values, expected 1")
    return values[0]


class WriteOnlySink(Py7zIO):
    """A py7zr sink that only receives an archive member's bytes (py7zr asks every sink for a
    whole file's interface): it counts them and hands each chunk to :meth:`take`."""

    def __init__(self) -> None:
        self.received = 0

    def take(self, data: bytes) -> None:
        """Receives the next decompressed chunk of the member."""

    def write(self, s: bytes | bytearray) -> int:
        self.received += len(s)
        self.take(bytes(s))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self.received


class _MemberSink(WriteOnlySink):
    """Receives one archive member's bytes from py7zr and splits them into records."""

    def __init__(self, splitter: RecordSplitter | None, decoder: _StreamDecoder | None) -> None:
        super().__init__()
        self._splitter = splitter
        self._decoder = decoder
        self._closed = False

    def take(self, data: bytes) -> None:
        if self._splitter is not None and self._decoder is not None:
            self._decoder.add(self._splitter.feed(data))

    def close(self) -> None:
        """Ends the member: py7zr calls this once the member is complete and its CRC checked
        (and :meth:`_SinkFactory.close` once the archive is done, for py7zr versions that
        do not)."""
        if self._closed or self._splitter is None or self._decoder is None:
            return
        self._closed = True
        if (error := self._splitter.finish()) is not None:
            self._decoder.add([error])
        self._decoder.close()


class _SinkFactory(WriterFactory):
    """Makes the sink of each archive member, and gathers their results in archive order."""

    def __init__(self, task: Input) -> None:
        self._task = task
        self._wanted = set(task.members)
        self._by_member: dict[str, list[Sample | InputError]] = {}
        self._sinks: list[_MemberSink] = []
        self.current: str | None = None
        """The member being decompressed (for errors)."""
        self.error: InputError | None = None
        """What ended the archive early."""

    def create(self, filename: str) -> Py7zIO:
        self.current = filename
        if filename not in self._wanted:
            return _MemberSink(None, None)
        results = self._by_member.setdefault(filename, [])
        name = parse_file_name(posixpath.basename(filename))
        sink = _MemberSink(RecordSplitter(), _StreamDecoder(self._task, filename, name, results))
        self._sinks.append(sink)
        return sink

    def close(self) -> None:
        """Ends every member, once the whole archive was decompressed."""
        for sink in self._sinks:
            sink.close()

    def results(self) -> list[Sample | InputError]:
        gathered = [r for member in self._task.members for r in self._by_member.get(member, [])]
        if self.error is not None:
            gathered.append(self.error)
        return gathered


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.cache
def _keep_freed_memory() -> None:
    """Lets glibc's malloc keep and reuse the memory of freed records (once per process).

    Every record takes a few allocations of up to 1.4 MB (its bytes, the protobuf arena, the
    image feature), freed at once. By default glibc serves such sizes with fresh ``mmap``s or
    trims them off the heap when freed, so each record's pages are faulted in anew: that
    doubled the reader's CPU time (see docs/benchmarks/s2-cloud.md). Serving them from the heap
    and keeping up to 64 MiB of freed memory bounds memory all the same. Other C libraries are
    left as they are.
    """
    if platform.libc_ver()[0] != "glibc":
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest allowed on 64-bit
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):
        return


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
