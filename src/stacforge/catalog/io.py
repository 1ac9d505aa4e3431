"""Atomic file and directory output, and the one JSON encoding every writer uses.

Temporary files and folders carry the writing process's id in their names
(``.<name>.<pid>.<random>.tmp`` / ``.partial``), and a folder also holds a marker file with it:
a later run removes the leftovers of a process that no longer runs (killed with SIGKILL, or
the machine crashed), and never anything it did not write.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from stacforge.errors import StacforgeError

_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY
_MARKER = ".stacforge-partial"
"""The file in a temporary output folder that names the process writing it."""


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
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
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


def remove_stale_files(folder: Path, name_pattern: str) -> int:
    """Removes the temporary files of dead processes in ``folder``.

    Args:
        folder: Where :func:`write_bytes_atomic` wrote.
        name_pattern: A regular expression for the written files' names (``[0-9a-f]{64}``):
            only ``.<name>.<pid>.<random>.tmp`` of those names are candidates.

    Returns:
        How many files were removed.
    """
    temporary = re.compile(rf"^\.(?:{name_pattern})\.(\d+)\.[^/]*\.tmp$")
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            match = temporary.match(entry.name)
            if match and not _alive(int(match[1])) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


@contextlib.contextmanager
def atomic_directory(out: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yields a temporary sibling of ``out`` to fill; renames it to ``out`` on success.

    On any exception the temporary directory is removed and ``out`` is left as it was.
    With ``overwrite``, an existing ``out`` is replaced only once the new one is complete.
    Leftovers of earlier writes of ``out`` by processes that died are removed first.

    Raises:
        StacforgeError: ``out`` exists (and is not an empty directory) without ``overwrite``,
            or the file system refuses (permissions, a full disk): one line naming the path.
    """
    out = Path(out)
    try:
        if out.exists() and not overwrite and not (out.is_dir() and not any(out.iterdir())):
            raise StacforgeError(f"{out}: already exists (use --overwrite to replace it)")
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_debris(out)
        tmp = Path(
            tempfile.mkdtemp(
                prefix=f".{out.name}.{os.getpid()}.", suffix=".partial", dir=out.parent
            )
        )
        tmp.chmod(0o755)  # mkdtemp makes it private; a published catalog is world-readable
        (tmp / _MARKER).write_text(str(os.getpid()))
    except OSError as error:
        raise StacforgeError(f"{_where(error, out)}: cannot write ({_reason(error)})") from None
    try:
        yield tmp
        (tmp / _MARKER).unlink()
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into_place(tmp: Path, out: Path) -> None:
    """Renames ``tmp`` to ``out``, replacing an existing ``out`` only if the rename works."""
    old = None
    try:
        if out.exists():
            old = Path(
                tempfile.mkdtemp(
                    prefix=f".{out.name}.{os.getpid()}.", suffix=".old", dir=out.parent
                )
            )
            os.replace(out, old / out.name)
        try:
            os.replace(tmp, out)
        except OSError:
            if old is not None:  # put the old output back where it was
                os.replace(old / out.name, out)
            raise
    except OSError as error:
        raise StacforgeError(f"{_where(error, out)}: cannot write ({_reason(error)})") from None
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _remove_debris(out: Path) -> None:
    """Removes ``.<out>.<pid>.*.partial`` / ``.old`` folders of processes that died."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(\d+)\.[^/]*\.(partial|old)$")
    for entry in os.scandir(out.parent):
        match = pattern.match(entry.name)
        if not match or _alive(int(match[1])) or not entry.is_dir(follow_symlinks=False):
            continue
        if match[2] == "old" or _marker_pid(Path(entry.path)) == int(match[1]):
            shutil.rmtree(entry.path, ignore_errors=True)


def _marker_pid(folder: Path) -> int | None:
    try:
        return int((folder / _MARKER).read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _where(error: OSError, fallback: Path) -> str:
    return str(error.filename) if error.filename else str(fallback)


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__
