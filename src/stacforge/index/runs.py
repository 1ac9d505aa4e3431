"""An external merge sort of Arrow rows by 64-bit keys, in bounded memory.

Rows are added with their sort keys (:func:`sort_keys`: a spatial key above the row's arrival
number, so keys are unique and ties keep arrival order). Up to ``memory_limit`` of rows are held;
then they are sorted and spilled as a *run*, an uncompressed Arrow IPC file.
:meth:`ExternalSort.sorted_chunks` merges the runs (k-way, a batch of each run at a time) and
yields every row in key order.

Memory: while adding, up to ``memory_limit`` of rows (twice that while a run is sorted); while
merging, up to ``memory_limit`` of run batches (a run is read one batch of
:data:`RUN_BATCH_BYTES` at a time, so ``memory_limit / RUN_BATCH_BYTES`` runs, at least two,
are merged at once; more runs are first merged in groups), plus a chunk being gathered (twice
its size while rows of interleaved runs are gathered). The keys of every row stay in memory
(8 bytes a row).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
from numpy.typing import ArrayLike, NDArray

RUN_BATCH_BYTES: Final = 4 << 20
"""Size of a record batch of a spilled run: what a merge holds per run. Reading or writing a
batch costs a few milliseconds for a table with a thousand columns, however few its rows."""
_MAX_SLICES: Final = 16
"""Rows that fall into at most this many stretches of consecutive rows are gathered as zero-copy
slices; more scattered rows are copied with one ``take`` (which costs about 10 ms a call on a
table with a thousand columns, however few its rows)."""
_SEQ_BITS: Final = 32
"""A sort key is a 32-bit spatial key above the row's 32-bit arrival number."""
_SEQ_MASK: Final = np.uint64((1 << _SEQ_BITS) - 1)


def sort_keys(spatial: NDArray[np.uint64], seqs: ArrayLike) -> NDArray[np.uint64]:
    """Sort keys of rows: their ``spatial`` keys (< 2**32), ties broken by arrival number."""
    keys = spatial << np.uint64(_SEQ_BITS)
    keys |= np.asarray(seqs, dtype=np.uint64)
    return keys


class _Run(NamedTuple):
    """A sorted run on disk, and its sort keys (kept in memory for the merge)."""

    path: Path
    keys: NDArray[np.uint64]
    first_seq: int
    """The lowest arrival number in the run (each run holds one stretch of them)."""


class ExternalSort:
    """Sorts rows added in any number of tables, spilling sorted runs into ``folder``.

    Args:
        folder: Where runs are written (created on the first spill).
        memory_limit: Bytes of rows held before a sorted run is spilled, and of run batches
            held while they are merged.
    """

    def __init__(self, folder: Path, memory_limit: int) -> None:
        self._folder = folder
        self._memory_limit = memory_limit
        self._held: list[pa.Table] = []
        self._held_keys: list[NDArray[np.uint64]] = []
        self._held_bytes = 0
        self._runs: list[_Run] = []
        self._spilled = 0
        self.schema: pa.Schema | None = None
        """The columns of every row gathered (their tables' schemas unify into it); the caller
        keeps it up to date as the rows it adds gain columns."""
        self.rows = 0
        """Rows added so far."""
        self.bytes = 0
        """Arrow bytes of the rows added so far."""

    def add(self, table: pa.Table, keys: NDArray[np.uint64]) -> None:
        """Adds rows (whose schema unifies with :attr:`schema`) and their sort keys (unique, as
        :func:`sort_keys` makes them)."""
        self._held.append(table)
        self._held_keys.append(keys)
        self._held_bytes += table.nbytes
        self.rows += table.num_rows
        self.bytes += table.nbytes
        if self._held_bytes >= self._memory_limit:
            self._spill()

    def sorted_chunks(self, rows_per_chunk: int) -> Iterator[pa.Table]:
        """Every row added, in key order, ``rows_per_chunk`` at a time (given up: call once)."""
        if not self._runs:
            if self._held:
                table, _ = self._sorted_held()
                for start in range(0, table.num_rows, rows_per_chunk):
                    yield table.slice(start, rows_per_chunk)
            return
        if self._held:
            self._spill()
        fan_in = max(2, self._memory_limit // RUN_BATCH_BYTES)
        while len(self._runs) > fan_in:
            # Merge the adjacent runs with the fewest rows down to what one merge can take
            # (adjacent, so that each run still holds one stretch of arrival numbers).
            width = min(fan_in, len(self._runs) - fan_in + 1)
            sizes = np.cumsum([0, *(len(run.keys) for run in self._runs)])
            at = int(np.argmin(sizes[width:] - sizes[:-width]))
            group = self._runs[at : at + width]
            keys = np.sort(np.concatenate([run.keys for run in group]))
            run = self._run(self._merged(group, rows_per_chunk), keys)
            for done in group:
                done.path.unlink()
            self._runs[at : at + width] = [run]
        yield from self._merged(self._runs, rows_per_chunk)

    def _sorted_held(self) -> tuple[pa.Table, NDArray[np.uint64]]:
        """The rows held (given up) sorted, and their sorted keys."""
        keys = np.concatenate(self._held_keys)
        self._held_keys, self._held_bytes = [], 0
        order = np.argsort(keys)  # keys are unique (they end in the arrival number)
        return self._gathered(self._held, order), keys[order]

    def _spill(self) -> None:
        """Writes the rows held, sorted, as one run on disk."""
        run, keys = self._sorted_held()
        self._runs.append(self._run([run], keys))

    def _run(self, sorted_rows: Iterable[pa.Table], keys: NDArray[np.uint64]) -> _Run:
        """Writes sorted rows as a run, in batches of :data:`RUN_BATCH_BYTES`.

        Runs are uncompressed Arrow IPC files: compressing the many small buffers of a wide
        table costs more than writing their bytes.
        """
        self._folder.mkdir(exist_ok=True)
        path = self._folder / f"{self._spilled:05d}.arrow"
        self._spilled += 1
        rows = iter(sorted_rows)
        table = next(rows)
        batch_rows = max(1, RUN_BATCH_BYTES * self.rows // max(1, self.bytes))
        with (
            pa.OSFile(str(path), "wb") as raw,
            pa.BufferedOutputStream(raw, buffer_size=1 << 20) as sink,
            ipc.new_file(sink, table.schema) as out,
        ):
            out.write_table(table, max_chunksize=batch_rows)
            del table  # each table goes before the next is made
            for table in rows:
                out.write_table(table, max_chunksize=batch_rows)
                del table
        return _Run(path, keys, int((keys & _SEQ_MASK).min()))

    def _merged(self, runs: list[_Run], rows_per_chunk: int) -> Iterator[pa.Table]:
        """The rows of ``runs`` in order, ``rows_per_chunk`` at a time (a k-way merge)."""
        keys = np.sort(np.concatenate([run.keys for run in runs]))
        firsts = np.array([run.first_seq for run in runs], dtype=np.uint64)
        readers = [_RunReader(run.path) for run in runs]
        try:
            for start in range(0, len(keys), rows_per_chunk):
                seqs = keys[start : start + rows_per_chunk] & _SEQ_MASK
                source = np.searchsorted(firsts, seqs, side="right") - 1
                counts = np.bincount(source, minlength=len(runs))
                parts = [readers[r].take(int(n)) for r, n in enumerate(counts) if n]
                # The rows come run after run; row i of the chunk is row order[i] of those.
                order = np.empty(len(source), dtype=np.int64)
                order[np.argsort(source, kind="stable")] = np.arange(len(source))
                yield self._gathered(parts, order)
        finally:
            for reader in readers:
                reader.close()

    def _gathered(self, parts: list[pa.Table], order: NDArray[np.int64]) -> pa.Table:
        """Rows ``order`` of the tables ``parts`` end to end, with every column seen so far.

        Takes ``parts`` over (the list is emptied) so that the rows are held at most twice.
        Rows that arrived nearly in order are a few stretches of consecutive rows: those are
        gathered as zero-copy slices instead of a copy.
        """
        if self.schema is not None:
            parts.insert(0, self.schema.empty_table())
        table = pa.concat_tables(parts, promote_options="permissive")
        parts.clear()
        breaks = np.flatnonzero(np.diff(order) != 1) + 1
        if len(breaks) < _MAX_SLICES:
            bounds = [0, *breaks.tolist(), len(order)]
            return pa.concat_tables(
                [table.slice(int(order[a]), b - a) for a, b in itertools.pairwise(bounds)]
            )
        # A take on a table of many chunks combines them first anyway; doing it here lets the
        # chunks go before the take copies the rows again.
        table = table.combine_chunks()
        return table.take(order)


class _RunReader:
    """Reads a sorted run front to back, a requested number of rows at a time.

    Batches are read into memory one at a time, not memory-mapped: the pages of a map would
    count towards the process's memory until the whole run was unmapped.
    """

    def __init__(self, path: Path) -> None:
        self._source = pa.OSFile(str(path))
        self._file = ipc.open_file(self._source)
        self._next_batch = 0
        self._buffer: pa.Table | None = None

    def take(self, n: int) -> pa.Table:
        parts: list[pa.Table] = []
        while n:
            if self._buffer is None or not self._buffer.num_rows:
                batch = self._file.get_batch(self._next_batch)
                self._next_batch += 1
                self._buffer = pa.Table.from_batches([batch])
            part = self._buffer.slice(0, n)
            self._buffer = self._buffer.slice(part.num_rows)
            parts.append(part)
            n -= part.num_rows
        return pa.concat_tables(parts)

    def close(self) -> None:
        self._buffer = None
        self._source.close()
