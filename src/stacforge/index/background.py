"""Index writers in a process of their own, beside the build or crawl that feeds them.

Converting items to Arrow, sorting them and writing Parquet is CPU work that a build (whose
own time goes mostly to the kernel, creating files) or a crawl (waiting on the network) would
otherwise do in between its own. :class:`IndexProcess` runs any number of
:class:`~stacforge.index.writer.IndexWriter` in one child process; the parent sends each item
as the JSON it already has (or orjson's encoding of it, in C) and goes on, so on two cores the
index costs the build or crawl little more than the bytes it sends.

The pipe between the two is the bound on memory: the parent blocks once the child has a batch
to convert and another waiting. The child aborts every writer it holds when the parent goes
away without closing them (its end of the pipe closes), so no half-written index survives a
killed build; it ignores Ctrl-C, which reaches the whole process group, and waits for the
parent to say what to do.
"""

from __future__ import annotations

import contextlib
import io
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import orjson

from stacforge.catalog.model import Item
from stacforge.errors import InputError, StacforgeError
from stacforge.index.convert import nesting_error
from stacforge.index.manifest import Manifest
from stacforge.index.reader import gc_paused, row_batches
from stacforge.index.writer import MEMORY_LIMIT, ROW_GROUP_BYTES, IndexWriter

_BATCH_BYTES: Final = 1 << 20
"""JSON bytes gathered before they are sent: one pipe message per ~1 MiB of items."""
_BATCH_ITEMS: Final = 256


class IndexProcess:
    """A child process that writes indexes; open writers in it with :meth:`open`.

    Use it as a context manager: leaving the block stops the process (aborting any writer not
    closed).
    """

    def __init__(self) -> None:
        # A fresh interpreter (not multiprocessing's fork server): it inherits no threads or
        # locks, and does not run the caller's __main__ again, so no main guard is needed.
        parent, child = socket.socketpair()
        with child:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", __name__, str(child.fileno())],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        self._connection = Connection(parent.detach())
        self._handles = 0
        self._failures: dict[int, BaseException] = {}
        self._stopped = False
        self._broken = False
        """A message was cut short: the pipe can only be closed."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def open(
        self,
        directory: Path,
        *,
        source: str | None = None,
        overwrite: bool = False,
        memory_limit: int = MEMORY_LIMIT,
        row_group_bytes: int = ROW_GROUP_BYTES,
        on_invalid: Callable[[InputError], None] | None = None,
    ) -> RemoteIndexWriter:
        """Starts writing an index in the child; the arguments are
        :class:`~stacforge.index.writer.IndexWriter`'s.

        The writer opens in the child while the parent goes on: an error there (``directory``
        exists) is raised by the next :meth:`RemoteIndexWriter.add` or by its ``close``.
        """
        self._handles += 1
        handle = self._handles
        options = {
            "source": source,
            "overwrite": overwrite,
            "memory_limit": memory_limit,
            "row_group_bytes": row_group_bytes,
        }
        directory = Path(directory).absolute()  # whatever the child's working directory
        self._send(("open", handle, str(directory), options, on_invalid is not None))
        return RemoteIndexWriter(self, handle, on_invalid)

    def stop(self) -> None:
        """Stops the child, aborting the writers still open in it."""
        if self._stopped:
            return
        self._stopped = True
        if not self._broken:
            with contextlib.suppress(OSError):
                self._connection.send(("stop",))
        # Else the child sees its pipe close (after whatever message it is reading), aborts its
        # writers and exits.
        self._connection.close()
        self._process.wait()

    def _send(self, message: tuple[Any, ...]) -> None:
        self._collect()
        try:
            self._connection.send(message)
        except OSError as error:
            raise self._died() from error
        except BaseException:
            self._broken = True  # interrupted (SIGTERM, Ctrl-C) part-way through a message
            raise

    def _collect(self) -> None:
        """Takes in the failures the child has reported so far (it reports nothing else
        unasked)."""
        with contextlib.suppress(EOFError, OSError):
            while self._connection.poll():
                self._receive()

    def _receive(self) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = self._connection.recv()
        except (EOFError, OSError) as error:
            raise self._died() from error
        except BaseException:
            self._broken = True
            raise
        if message[0] == "failed":
            _, handle, failure, remote = message
            if remote is not None:  # an unexpected error: keep where it happened
                failure.__cause__ = _RemoteTraceback(remote)
            self._failures.setdefault(handle, failure)
        return message

    def _reply(self, handle: int) -> tuple[Any, ...]:
        """Waits for the child's next word about ``handle`` (closed, aborted or failed)."""
        while True:
            message = self._receive()
            if message[1] == handle:
                return message

    def _failure(self, handle: int) -> BaseException | None:
        self._collect()
        return self._failures.get(handle)

    def _died(self) -> StacforgeError:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        code = self._process.returncode
        return StacforgeError(f"the index writer process stopped (exit code {code})")


class RemoteIndexWriter:
    """An :class:`~stacforge.index.writer.IndexWriter` in an :class:`IndexProcess`, with its
    methods.

    Items the index cannot hold go to ``on_invalid`` when the child has converted them, at
    :meth:`close` at the latest; without it, the first such item's error is raised by a later
    :meth:`add` or by :meth:`close`.
    """

    def __init__(
        self,
        process: IndexProcess,
        handle: int,
        on_invalid: Callable[[InputError], None] | None,
    ) -> None:
        self._process = process
        self._handle = handle
        self._on_invalid = on_invalid
        self._batch: list[tuple[bytes, str | None]] = []
        self._batch_bytes = 0
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            if not self._closed:
                self.close()
        else:
            self.abort(exc)

    def add(self, item: Item, href: str | None = None) -> None:
        """Adds one item (see :meth:`IndexWriter.add <stacforge.index.writer.IndexWriter.add>`).

        Raises:
            InputError: Without ``on_invalid``: an item sent before cannot be indexed, or this
                one nests too deeply to be sent.
        """
        try:
            data = orjson.dumps(item, default=repr)
        except TypeError:  # orjson refuses to nest deeper than the index allows
            item_id = item.get("id") if isinstance(item, dict) else None
            self._reject(nesting_error(href, item_id if isinstance(item_id, str) else None))
            return
        self.add_json(data, href)

    def add_json(self, data: bytes, href: str | None = None) -> None:
        """Adds one item given as its JSON (as a catalog writer has it at hand)."""
        if self._closed:
            raise StacforgeError("index writer already closed")
        self._batch.append((data, href))
        self._batch_bytes += len(data)
        if self._batch_bytes >= _BATCH_BYTES or len(self._batch) >= _BATCH_ITEMS:
            self._flush()

    def add_mirror(
        self,
        source: str | bytes,
        where: str,
        item_hrefs: list[str | None],
        collection: str | None,
    ) -> tuple[int, InputError | None]:
        """Adds the items of a stac-geoparquet file (a collection mirror) as Arrow rows, read
        by the child (see :meth:`IndexWriter.add_rows
        <stacforge.index.writer.IndexWriter.add_rows>`).

        Args:
            source: The file's path, or its bytes.
            where: Its href, for errors.
            item_hrefs: Where each row's item lives; None for a row to leave out (an item
                indexed already).
            collection: The id of the collection it mirrors.

        Returns:
            How many rows (from the first) were taken, and the error that stopped the reading
            (a damaged or foreign file), if any: the rows after those are not indexed.
        """
        self._flush()
        process = self._process
        process._send(("mirror", self._handle, source, where, item_hrefs, collection))
        message = process._reply(self._handle)
        if message[0] != "mirrored":
            self._closed = True
            raise process._failures[self._handle]
        _, _, rows, error = message
        return rows, error

    def close(self) -> Manifest:
        """Writes the index and moves it into place (in the child); returns its manifest."""
        if self._closed:
            raise StacforgeError("index writer already closed")
        self._flush()
        self._closed = True
        process = self._process
        process._send(("close", self._handle))
        message = process._reply(self._handle)
        if message[0] == "closed":
            _, _, manifest, rejected = message
            for error in rejected:
                self._reject(error)
            return manifest  # type: ignore[no-any-return]
        raise process._failures[self._handle]

    def abort(self, error: BaseException | None = None) -> None:
        """Discards the index being written; its directory is left as it was."""
        if self._closed:
            return
        self._closed = True
        self._batch = []
        process = self._process
        if process._broken:  # the child cannot be told: stopping it aborts every writer
            process.stop()
            return
        with contextlib.suppress(StacforgeError):
            process._send(("abort", self._handle, repr(error)))
            process._reply(self._handle)

    def _flush(self) -> None:
        failure = self._process._failure(self._handle)
        if failure is not None:
            self.abort(failure)
            raise failure
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            self._process._send(("add", self._handle, batch))

    def _reject(self, error: InputError) -> None:
        if self._on_invalid is None:
            self.abort(error)
            raise error
        self._on_invalid(error)


class _ParentGone(Exception):
    """The parent closed its end of the pipe: nobody is left to answer."""


class _RemoteTraceback(Exception):
    """The traceback of an unexpected error in the child, as text (the error's cause)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _add_mirror(
    writer: IndexWriter,
    source: str | bytes,
    where: str,
    item_hrefs: list[str | None],
    collection: str | None,
) -> tuple[int, InputError | None]:
    """The child's part of :meth:`RemoteIndexWriter.add_mirror`."""
    done = 0
    try:
        for table in row_batches(
            io.BytesIO(source) if isinstance(source, bytes) else source, where=where
        ):
            hrefs = item_hrefs[done : done + table.num_rows]
            kept = [href for href in hrefs if href is not None]
            if len(kept) < len(hrefs):
                table = table.take([i for i, href in enumerate(hrefs) if href is not None])
            if kept:
                writer.add_rows(table, kept, collection=collection, where=where)
            done += table.num_rows
    except InputError as error:
        return done, error
    return done, None


def _serve(connection: Connection) -> None:
    """The child: carries out the parent's messages until it says stop or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    writers: dict[int, IndexWriter] = {}
    rejected: dict[int, list[InputError]] = {}

    def reply(message: tuple[Any, ...]) -> None:
        try:
            connection.send(message)
        except OSError:
            raise _ParentGone from None

    def handle_message(kind: str, handle: int, *args: Any) -> None:
        if kind == "open":
            directory, options, collect = args
            rejected[handle] = []
            writers[handle] = IndexWriter(
                Path(directory), **options, on_invalid=rejected[handle].append if collect else None
            )
        elif kind == "add":
            # A writer that failed is gone: its items are dropped until the parent knows.
            if (writer := writers.get(handle)) is not None:
                with gc_paused():  # parsed items hold no cycles; collections would only rescan
                    for data, href in args[0]:
                        writer.add(orjson.loads(data), href)
        elif kind == "mirror":
            if (writer := writers.get(handle)) is None:
                raise StacforgeError("index writer failed")
            rows, error = _add_mirror(writer, *args)
            reply(("mirrored", handle, rows, error))
        elif kind == "close":
            if (writer := writers.pop(handle, None)) is None:
                raise StacforgeError("index writer failed")
            manifest = writer.close()
            reply(("closed", handle, manifest, rejected.pop(handle)))
        elif kind == "abort":
            if (writer := writers.pop(handle, None)) is not None:
                writer.abort(StacforgeError(args[0]))
            reply(("aborted", handle))

    try:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):  # the parent is gone
                return
            if message[0] == "stop":
                return
            try:
                handle_message(*message)
            except _ParentGone:
                raise
            except Exception as error:  # sent to the parent, which raises it
                if (writer := writers.pop(message[1], None)) is not None:
                    writer.abort(error)
                remote = None if isinstance(error, StacforgeError) else traceback.format_exc()
                reply(("failed", message[1], error, remote))
    except _ParentGone:
        return
    finally:
        for writer in writers.values():
            writer.abort()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
