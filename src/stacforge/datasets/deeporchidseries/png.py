"""PNG headers: size, bit depth and colour type from the first bytes, without decoding pixels.

A PNG opens with an 8-byte signature and the 25-byte IHDR chunk and closes with the 12-byte
IEND chunk, so reading those 45 bytes checks that a file is a PNG of the expected shape and
that it was not cut short, whatever its size.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_IHDR = struct.Struct(">I4s13sI")  # length, type, data, CRC
_IHDR_DATA = struct.Struct(">IIBBBBB")
_HEAD = len(SIGNATURE) + _IHDR.size
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
"""Channels of each PNG colour type (3 is palette: one index channel)."""


@dataclass(frozen=True, slots=True)
class PngHeader:
    """What a PNG's IHDR chunk says, and the file's size in bytes."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    size: int

    @property
    def channels(self) -> int:
        return CHANNELS.get(self.colour_type, 0)


def read_png_header(path: str | os.PathLike[str]) -> PngHeader:
    """Reads the signature, IHDR and IEND chunks of the PNG at ``path``.

    Raises:
        ValueError: Not a PNG, a corrupt header (bad CRC), or a file cut short (no IEND at the
            end); the message says which.
        OSError: The file cannot be read.
    """
    # Two positioned reads on a raw descriptor: no buffered file object per patch.
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(fd, _HEAD, 0)
        if not head.startswith(SIGNATURE):
            raise ValueError("not a PNG file (bad signature)")
        if len(head) < _HEAD:
            raise ValueError("truncated PNG (no complete IHDR chunk)")
        length, kind, data, crc = _IHDR.unpack_from(head, len(SIGNATURE))
        if kind != b"IHDR" or length != _IHDR_DATA.size:
            raise ValueError("corrupt PNG (first chunk is not IHDR)")
        if zlib.crc32(kind + data) != crc:
            raise ValueError("corrupt PNG (IHDR checksum mismatch)")
        size = os.fstat(fd).st_size
        if size < _HEAD + len(IEND) or os.pread(fd, len(IEND), size - len(IEND)) != IEND:
            raise ValueError("truncated PNG (does not end with an IEND chunk)")
    finally:
        os.close(fd)
    width, height, bit_depth, colour_type, *_ = _IHDR_DATA.unpack(data)
    return PngHeader(width, height, bit_depth, colour_type, size)


def encode_png(
    pixels: bytes, *, width: int, height: int, bit_depth: int, colour_type: int
) -> bytes:
    """A complete PNG of raw, unfiltered scanlines ``pixels`` (big-endian samples, rows top
    down), for sample input: every row gets filter type 0."""
    row = width * CHANNELS[colour_type] * bit_depth // 8
    if len(pixels) != row * height:
        raise ValueError(f"{len(pixels)} bytes of pixels, expected {row * height}")
    raw = b"".join(b"\x00" + pixels[i * row : (i + 1) * row] for i in range(height))
    header = _IHDR_DATA.pack(width, height, bit_depth, colour_type, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + IEND


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
