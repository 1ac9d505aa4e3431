"""The TFRecord container, without TensorFlow: framing, masked CRC32C checksums, writing.

A TFRecord file is a sequence of records, each framed as::

    uint64 length (little-endian)
    uint32 masked CRC32C of the 8 length bytes
    byte   data[length]
    uint32 masked CRC32C of the data

:class:`RecordSplitter` checks both checksums of every record. It is fed the stream's bytes
either by pulling exactly the bytes it needs from a file (:func:`read_records`) or by pushing
chunks of any size as a decompressor produces them (:meth:`RecordSplitter.feed`), so records
are found the same way in plain files and in archive members, one record in memory at a time.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import google_crc32c

HEADER_BYTES = 12
FOOTER_BYTES = 4
FRAME_BYTES = HEADER_BYTES + FOOTER_BYTES
"""Bytes a record takes besides its data."""

_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_HEADER, _DATA, _FOOTER = range(3)


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC32C of ``data`` (rotated right by 15 bits, plus a constant), which
    keeps a checksum of data holding checksums from looking like one."""
    crc: int = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """``data`` framed as one TFRecord record."""
    length = _LENGTH.pack(len(data))
    return b"".join((length, _CRC.pack(masked_crc(length)), data, _CRC.pack(masked_crc(data))))


def write_records(stream: BinaryIO, records: Iterable[bytes]) -> int:
    """Writes ``records`` to ``stream`` as a TFRecord file; returns the bytes written."""
    written = 0
    for data in records:
        written += stream.write(frame(data))
    return written


@dataclass(frozen=True, slots=True)
class Record:
    """One record whose checksums match.

    Attributes:
        index: Position in the stream, from 0.
        offset: Byte offset of the record's length field in the stream.
        length: Bytes of the whole framed record (``data`` plus 16).
        data: The record's payload.
    """

    index: int
    offset: int
    length: int
    data: bytes


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that cannot be used.

    Attributes:
        index: Position of the record in the stream, from 0.
        offset: Byte offset of the record's length field.
        message: What is wrong.
        fatal: The framing is lost (the length is untrustworthy or the stream ends inside the
            record): no record after this one can be found.
    """

    index: int
    offset: int
    message: str
    fatal: bool


class RecordSplitter:
    """Splits one TFRecord stream into checked records (see the module docstring).

    After a fatal :class:`RecordError` it takes no more bytes.
    """

    def __init__(self) -> None:
        self._state = _HEADER
        self.need = HEADER_BYTES
        """Bytes the next step consumes."""
        self._index = 0
        self._offset = 0
        self._length = 0
        self._data = b""
        self._pending = bytearray()
        self.failed = False
        """Whether a fatal error ended the stream."""

    def step(self, block: bytes) -> Record | RecordError | None:
        """Consumes exactly :attr:`need` bytes; returns a finished record or error, if any."""
        if self._state == _HEADER:
            length = block[:8]
            if masked_crc(length) != _CRC.unpack(block[8:])[0]:
                return self._fail("length checksum mismatch (not a TFRecord stream or corrupt)")
            self._length = _LENGTH.unpack(length)[0]
            self._state, self.need = _DATA, self._length
            return None
        if self._state == _DATA:
            self._data = block
            self._state, self.need = _FOOTER, FOOTER_BYTES
            return None
        data, self._data = self._data, b""
        result: Record | RecordError
        if masked_crc(data) != _CRC.unpack(block)[0]:
            result = RecordError(self._index, self._offset, "data checksum mismatch", fatal=False)
        else:
            result = Record(self._index, self._offset, len(data) + FRAME_BYTES, data)
        self._index += 1
        self._offset += len(data) + FRAME_BYTES
        self._state, self.need = _HEADER, HEADER_BYTES
        return result

    def feed(self, chunk: bytes) -> list[Record | RecordError]:
        """Takes the next ``chunk`` of the stream (any size); returns what it completes."""
        if self.failed:
            return []
        pending = self._pending
        pending += chunk
        results: list[Record | RecordError] = []
        start = 0
        while len(pending) - start >= self.need:
            end = start + self.need
            result = self.step(bytes(pending[start:end]))
            start = end
            if result is not None:
                results.append(result)
                if self.failed:
                    break
        del pending[:start]
        return results

    def finish(self) -> RecordError | None:
        """Ends the stream; the error if it ends inside a record."""
        if self.failed:
            return None
        buffered = len(self._pending)
        self._pending = bytearray()
        if self._state == _HEADER and not buffered:
            return None
        if self._state == _HEADER:
            return self._fail(f"truncated record: the stream ends {buffered} bytes into it")
        got = HEADER_BYTES + buffered + (len(self._data) if self._state == _FOOTER else 0)
        return self._fail(
            f"truncated record: the stream ends {got} bytes into it, "
            f"expected {self._length + FRAME_BYTES}"
        )

    def _fail(self, message: str) -> RecordError:
        self.failed = True
        return RecordError(self._index, self._offset, message, fatal=True)


def read_records(stream: BinaryIO) -> Iterator[Record | RecordError]:
    """The records of a TFRecord file, read record by record (a fatal error ends them)."""
    splitter = RecordSplitter()
    while True:
        need = splitter.need
        block = stream.read(need)
        if len(block) < need:
            splitter.feed(block)
            if (error := splitter.finish()) is not None:
                yield error
            return
        result = splitter.step(block)
        if result is not None:
            yield result
            if splitter.failed:
                return
