"""Atomic file and directory output, and the one JSON encoding every writer uses."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from stacforge.errors import StacforgeError

_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any) -> bytes:
    """Encodes a STAC object as indented UTF-8 JSON with a final newline."""
    return orjson.dumps(obj, option=_JSON_OPTIONS)


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the new, never a part.

    The bytes go to a temporary sibling that is renamed over ``path``.

    Args:
        path: The file to write.
        data: Its new content.
        durable: Flush the bytes to disk (fsync) before the rename, so that the new file is
            whole even after the machine crashes. Without, a process that dies still leaves the
            old file or the new, but a machine crash may leave an empty or short file at
            ``path``: only for files whose readers detect that, such as cache entries.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes files private; outputs are published and shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    """Writes ``obj`` as JSON to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, dumps(obj))


@contextlib.contextmanager
def atomic_directory(out: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yields a temporary sibling of ``out`` to fill; renames it to ``out`` on success.

    On any exception the temporary directory is removed and ``out`` is left as it was.
    With ``overwrite``, an existing ``out`` is replaced only once the new one is complete.

    Raises:
        StacforgeError: ``out`` exists (and is not an empty directory) without ``overwrite``.
    """
    out = Path(out)
    if out.exists() and not overwrite and not (out.is_dir() and not any(out.iterdir())):
        raise StacforgeError(f"{out}: already exists (use --overwrite to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a published catalog is world-readable
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
